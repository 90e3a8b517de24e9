package dev.kiln;

import dev.kiln.autograd.BackwardFn;
import dev.kiln.autograd.GradMode;
import dev.kiln.autograd.Node;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Records ops into the dynamic graph and runs reverse mode over it. Every differentiable op calls
 * {@link #record} with its backward rule right beside its forward, so an op without a rule cannot be written
 * by accident: ops that have none call {@link #nonDifferentiable}, which makes a request for a gradient a clear
 * error.
 */
final class Autograd {
    private Autograd() {}

    static boolean needed(Tensor... inputs) {
        if (!GradMode.isEnabled()) return false;
        for (Tensor t : inputs) if (t != null && t.requiresGrad()) return true;
        return false;
    }

    /**
     * Attaches {@code fn} as the backward rule of {@code out} when any input requires a gradient. {@code saved}
     * are tensors the rule reads besides the inputs (its output, intermediates); they stay alive with the node.
     */
    static Tensor record(String op, Tensor out, Tensor[] inputs, BackwardFn fn, Tensor... saved) {
        if (!needed(inputs)) return out;
        if (dev.kiln.autograd.AnomalyMode.isEnabled()) dev.kiln.autograd.AnomalyMode.checkOutput(op, out);
        List<Tensor> keep = new ArrayList<>(inputs.length + saved.length);
        for (Tensor t : inputs) if (t != null) keep.add(t.retainedAlias());
        for (Tensor t : saved) if (t != null) keep.add(t.retainedAlias());
        out.attach(new Node(op, inputs.clone(), fn, keep.toArray(Tensor[]::new)));
        return out;
    }

    static Tensor record(String op, Tensor out, Tensor input, BackwardFn fn, Tensor... saved) {
        return record(op, out, new Tensor[] {input}, fn, saved);
    }

    /** For ops with no gradient (comparisons, argmax, indices): the output never requires one. */
    static Tensor nonDifferentiable(Tensor out) { return out; }

    /** Reverse mode from {@code root} seeded with {@code seed}; leaf gradients accumulate into {@code grad}. */
    static void backward(Tensor root, Tensor seed, boolean retainGraph) {
        if (!root.requiresGrad())
            throw new IllegalStateException("backward: tensor of shape " + Shapes.str(root.shape())
                    + " does not require grad and has no grad_fn (did every input have requiresGrad=false, or was it computed under noGrad?)");
        if (!Arrays.equals(seed.shape(), root.shape()))
            throw new IllegalArgumentException("backward: gradient of shape " + Shapes.str(seed.shape()) + " for a tensor of shape " + Shapes.str(root.shape()));
        try (GradMode ignored = GradMode.noGrad(); Scope scope = Scope.open()) {
            if (root.gradFn() == null) {
                accumulateLeaf(root, seed);
                return;
            }
            List<Node> order = topologicalOrder(root.gradFn());
            Pending pending = new Pending(seed);
            pending.add(root.gradFn(), seed);
            for (Node node : order) {
                Tensor g = pending.take(node);
                if (g == null) continue;
                Tensor[] inputs = node.inputs();
                Tensor[] grads;
                // The rule's temporaries die with this inner scope; only the gradients it returns survive.
                try (Scope ruleScope = Scope.open()) {
                    grads = node.apply(g);
                    for (Tensor gi : grads) if (gi != null) ruleScope.keep(gi);
                }
                if (grads.length != inputs.length)
                    throw new IllegalStateException(node.op() + ": backward returned " + grads.length + " gradients for " + inputs.length + " inputs");
                if (dev.kiln.autograd.AnomalyMode.isEnabled()) dev.kiln.autograd.AnomalyMode.check(node, grads);
                for (int i = 0; i < inputs.length; i++) {
                    Tensor in = inputs[i];
                    Tensor gi = grads[i];
                    if (in == null || gi == null || !in.requiresGrad()) continue;
                    if (!Arrays.equals(gi.shape(), in.shape()))
                        throw new IllegalStateException(node.op() + ": backward produced a gradient of shape " + Shapes.str(gi.shape())
                                + " for input " + i + " of shape " + Shapes.str(in.shape()));
                    if (in.gradFn() == null) accumulateLeaf(in, gi);
                    else pending.add(in.gradFn(), gi);
                }
                pending.release(g);
                for (Tensor gi : grads) if (gi != null) pending.release(gi);
                pending.releaseReplaced();
                if (!retainGraph) node.free();
            }
        }
    }

    /**
     * Gradients waiting for their nodes. One tensor may wait in several slots (add hands the same gradient to both
     * inputs), so slots are counted per tensor, and a gradient is closed once no slot holds it: peak memory follows
     * the frontier of the backward pass rather than the whole graph.
     */
    private static final class Pending {
        private final Map<Node, Tensor> slots = new IdentityHashMap<>();
        private final Map<Tensor, Integer> holders = new IdentityHashMap<>();
        private final List<Tensor> replaced = new ArrayList<>();
        private final Tensor callerOwned;

        Pending(Tensor callerOwned) { this.callerOwned = callerOwned; }

        void add(Node node, Tensor g) {
            Tensor prev = slots.get(node);
            Tensor next = prev == null ? g : prev.add(g);
            if (prev != null) {
                unhold(prev);
                replaced.add(prev);
            }
            slots.put(node, next);
            holders.merge(next, 1, Integer::sum);
        }

        Tensor take(Node node) {
            Tensor g = slots.remove(node);
            if (g != null) unhold(g);
            return g;
        }

        private void unhold(Tensor g) {
            holders.computeIfPresent(g, (t, n) -> n > 1 ? n - 1 : null);
        }

        /** Closes {@code g} unless a slot still holds it or it belongs to the caller. */
        void release(Tensor g) {
            if (g != callerOwned && !holders.containsKey(g)) g.close();
        }

        void releaseReplaced() {
            for (Tensor t : replaced) release(t);
            replaced.clear();
        }
    }

    private static void accumulateLeaf(Tensor leaf, Tensor g) {
        Tensor gc = g.dtype() == leaf.dtype() ? g : g.to(leaf.dtype());
        if (leaf.grad() == null) {
            Tensor fresh = gc.copy();
            Scope.untrack(fresh);
            leaf.setGrad(fresh);
        } else {
            leaf.grad().add_(gc);
        }
    }

    /** Nodes reachable from {@code root}, each after every node that feeds it a gradient. */
    private static List<Node> topologicalOrder(Node root) {
        List<Node> postOrder = new ArrayList<>();
        Map<Node, Boolean> seen = new IdentityHashMap<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {root, 0});
        seen.put(root, Boolean.TRUE);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Node n = (Node) frame[0];
            int i = (Integer) frame[1];
            Tensor[] ins = n.inputs();
            if (i < ins.length) {
                frame[1] = i + 1;
                Tensor in = ins[i];
                if (in != null && in.gradFn() != null && seen.put(in.gradFn(), Boolean.TRUE) == null)
                    stack.push(new Object[] {in.gradFn(), 0});
            } else {
                stack.pop();
                postOrder.add(n);
            }
        }
        java.util.Collections.reverse(postOrder);
        return postOrder;
    }
}
