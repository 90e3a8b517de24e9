package dev.kiln;

import dev.kiln.autograd.BackwardFn;
import dev.kiln.autograd.GradMode;
import dev.kiln.autograd.Node;

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
        for (Tensor t : inputs) if (t != null && t.requiresGrad()) return GradMode.isEnabled();
        return false;
    }

    /**
     * Attaches {@code fn} as the backward rule of {@code out} when any input requires a gradient. {@code saved}
     * are tensors the rule reads besides the inputs (its output, intermediates); they stay alive with the node.
     */
    static Tensor record(String op, Tensor out, Tensor[] inputs, BackwardFn fn, Tensor... saved) {
        if (!needed(inputs)) return out;
        if (dev.kiln.autograd.AnomalyMode.isEnabled()) dev.kiln.autograd.AnomalyMode.checkOutput(op, out);
        int n = 0;
        for (Tensor t : inputs) if (t != null) n++;
        for (Tensor t : saved) if (t != null) n++;
        Tensor[] keep = new Tensor[n];
        int k = 0;
        for (Tensor t : inputs) if (t != null) keep[k++] = t.retainedAlias();
        for (Tensor t : saved) if (t != null) keep[k++] = t.retainedAlias();
        for (Tensor t : inputs) if (t != null && t.gradFn() != null) t.gradFn().hold();
        out.attach(new Node(op, inputs.clone(), fn, keep));
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
            throw new IllegalStateException("backward: tensor of shape " + Shapes.str(root.view.shape())
                    + " does not require grad and has no grad_fn (did every input have requiresGrad=false, or was it computed under noGrad?)");
        if (!Arrays.equals(seed.view.shape(), root.view.shape()))
            throw new IllegalArgumentException("backward: gradient of shape " + Shapes.str(seed.view.shape()) + " for a tensor of shape " + Shapes.str(root.view.shape()));
        try (GradMode ignored = GradMode.noGrad(); Scope scope = Scope.open()) {
            Node rootFn = root.gradFn();
            if (rootFn == null) {
                accumulateLeaf(root, seed);
                return;
            }
            Pending pending = new Pending(seed);
            List<Node> order = topologicalOrder(rootFn, pending);
            pending.add(rootFn, seed);
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
                    if (!Arrays.equals(gi.view.shape(), in.view.shape()))
                        throw new IllegalStateException(node.op() + ": backward produced a gradient of shape " + Shapes.str(gi.view.shape())
                                + " for input " + i + " of shape " + Shapes.str(in.view.shape()));
                    if (in.gradFn() == null) {
                        if (in.grad() == null && gi.dtype() == in.dtype() && ownedByThisPass(gi, g, grads, scope, pending)) {
                            pending.keep(gi);
                            Scope.untrack(gi);
                            in.setGrad(gi);
                        } else {
                            accumulateLeaf(in, gi);
                        }
                    } else {
                        pending.add(in.gradFn(), gi);
                    }
                }
                pending.release(g);
                for (Tensor gi : grads) if (gi != null) pending.release(gi);
                pending.releaseReplaced();
                if (!retainGraph) node.free();
            }
        }
    }

    /**
     * Gradients waiting for their nodes: one slot per node of the graph, made while ordering it. One tensor may
     * wait in several slots (add hands the same gradient to both inputs), so slots are counted per tensor, and a
     * gradient is closed once no slot holds it: peak memory follows the frontier of the backward pass rather than
     * the whole graph.
     */
    private static final class Pending {
        /** The gradient summed so far from a node's consumers. */
        private static final class Slot {
            Tensor grad;
        }

        // Sized for small graphs (the default table has 64 entries, more than a small step's whole backward
        // allocates otherwise); they grow for larger ones.
        private final Map<Node, Slot> slots = new IdentityHashMap<>(4);
        private final Map<Tensor, Integer> holders = new IdentityHashMap<>(4);
        private final List<Tensor> replaced = new ArrayList<>();
        private final Map<Tensor, Boolean> taken = new IdentityHashMap<>(4);
        private final Tensor callerOwned;

        Pending(Tensor callerOwned) { this.callerOwned = callerOwned; }

        /** Makes a slot for {@code node}; false if it already has one. */
        boolean visit(Node node) {
            if (slots.containsKey(node)) return false;
            slots.put(node, new Slot());
            return true;
        }

        void add(Node node, Tensor g) {
            Slot slot = slots.get(node);
            Tensor prev = slot.grad;
            Tensor next = prev == null ? g : prev.add(g);
            if (prev != null) {
                unhold(prev);
                replaced.add(prev);
            }
            slot.grad = next;
            holders.merge(next, 1, Integer::sum);
        }

        Tensor take(Node node) {
            Slot slot = slots.get(node);
            Tensor g = slot.grad;
            slot.grad = null;
            if (g != null) unhold(g);
            return g;
        }

        private void unhold(Tensor g) {
            holders.computeIfPresent(g, (t, n) -> n > 1 ? n - 1 : null);
        }

        /** Closes {@code g} unless a slot still holds it, it belongs to the caller, or a leaf took it. */
        void release(Tensor g) {
            if (g != callerOwned && !holders.containsKey(g) && !taken.containsKey(g)) g.close();
        }

        /** {@code g} became a leaf's gradient: never close it. */
        void keep(Tensor g) { taken.put(g, Boolean.TRUE); }

        boolean holds(Tensor g) { return g == callerOwned || holders.containsKey(g); }

        void releaseReplaced() {
            if (replaced.isEmpty()) return;
            for (Tensor t : replaced) release(t);
            replaced.clear();
        }
    }

    /**
     * Whether a rule's gradient {@code gi} belongs to this backward pass alone, so a leaf without a gradient yet (and
     * of gi's dtype: the caller checks both, before marking gi kept) can take it as is instead of a copy (PyTorch's
     * AccumulateGrad steals such a gradient too; here it saved a copy of every parameter's gradient per step): made by
     * a rule in this pass (owned by its scope), the only handle on its memory, dense from the start, not the incoming
     * gradient, not returned for two inputs, not waiting in a slot. A gradient only added into a leaf's is not kept, so
     * it is closed as soon as it is used, as before.
     */
    private static boolean ownedByThisPass(Tensor gi, Tensor g, Tensor[] grads, Scope scope, Pending pending) {
        if (gi == g || gi.owner != scope || !gi.storage.exclusive() || !gi.view.isContiguous() || gi.view.offset() != 0
                || pending.holds(gi)) return false;
        int uses = 0;
        for (Tensor t : grads) if (t == gi) uses++;
        return uses == 1;
    }

    private static void accumulateLeaf(Tensor leaf, Tensor g) {
        Tensor gc = g.dtype() == leaf.dtype() ? g : g.to(leaf.dtype());
        if (leaf.grad() == null) {
            Tensor fresh = gc.clone();
            Scope.untrack(fresh);
            leaf.setGrad(fresh);
        } else {
            leaf.grad().add_(gc);
        }
    }

    /**
     * Nodes reachable from {@code root}, each after every node that feeds it a gradient; each gets a slot in
     * {@code pending} on the way. Depth-first with an explicit stack, as graphs can be deeper than the thread's.
     */
    private static List<Node> topologicalOrder(Node root, Pending pending) {
        List<Node> postOrder = new ArrayList<>();
        Node[] stack = new Node[8];
        int[] nextInput = new int[8];
        int depth = 0;
        stack[0] = root;
        pending.visit(root);
        while (depth >= 0) {
            Node n = stack[depth];
            Tensor[] ins = n.inputs();
            int i = nextInput[depth];
            if (i < ins.length) {
                nextInput[depth] = i + 1;
                Tensor in = ins[i];
                if (in != null && in.gradFn() != null && pending.visit(in.gradFn())) {
                    if (++depth == stack.length) {
                        stack = Arrays.copyOf(stack, 2 * depth);
                        nextInput = Arrays.copyOf(nextInput, 2 * depth);
                    }
                    stack[depth] = in.gradFn();
                    nextInput[depth] = 0;
                }
            } else {
                postOrder.add(n);
                depth--;
            }
        }
        return postOrder.reversed();
    }
}
