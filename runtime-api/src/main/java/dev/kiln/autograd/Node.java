package dev.kiln.autograd;

import dev.kiln.Tensor;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;

/**
 * One recorded op in the dynamic graph: its name, its inputs and its backward rule. A node keeps the storage of
 * its inputs and saved tensors alive until the graph is freed: after {@code backward()} unless the graph is
 * retained, or once nothing can reach the node any more. Its holders are counted, as PyTorch's reference counts do:
 * the tensor it produced while that is open, and each node that took that tensor as an input while that node is held.
 * Closing an intermediate tensor early therefore never breaks a later backward pass from a tensor still open, and
 * closing the last tensor of a graph that never ran backward (a forward pass with gradients on) frees it then, not
 * when a garbage collection finds it.
 */
public final class Node {
    private final String op;
    private final Tensor[] inputs;
    private final Tensor[] retained;
    /** The version of each retained tensor when it was saved (see {@link Tensor#version()}). */
    private final int[] savedVersions;
    private BackwardFn fn;
    /** The open tensor it produced, plus the held nodes that took that tensor as an input. */
    private volatile int holders;
    private static final VarHandle HOLDERS;

    static {
        try {
            HOLDERS = MethodHandles.lookup().findVarHandle(Node.class, "holders", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Records one op (PyTorch's {@code grad_fn}), saving the version of each retained tensor.
     *
     * @param op the op's name, for error messages and graph printing
     * @param inputs the op's tensor inputs, in order (null where an input is not a tensor)
     * @param fn the backward rule
     * @param retained the non-null inputs, in order, then the other tensors the rule reads
     */

    public Node(String op, Tensor[] inputs, BackwardFn fn, Tensor[] retained) {
        this.op = op;
        this.inputs = inputs;
        this.fn = fn;
        this.retained = retained;
        this.savedVersions = new int[retained.length];
        for (int i = 0; i < retained.length; i++) savedVersions[i] = retained[i].version();
    }

    /** {@return the op's name} */
    public String op() { return op; }

    /** {@return the op's inputs, in recording order (the array itself)} */
    public Tensor[] inputs() { return inputs; }

    /** {@return whether the graph through this node was freed, so that its rule can no longer run} */
    public boolean isFreed() { return fn == null; }

    /**
     * Runs the backward rule.
     *
     * @param grad the gradient of the op's output
     * @return the gradients of its inputs, in recording order
     * @throws IllegalStateException if the graph through this node was already freed
     */
    public Tensor[] apply(Tensor grad) {
        if (fn == null)
            throw new IllegalStateException(op + ": the graph through this op was already freed; call backward(grad, true) "
                    + "to retain it for a second backward pass, and keep the op's output open until then");
        checkVersions();
        return fn.apply(grad);
    }

    /**
     * Refuses to run the rule when a tensor it saved was written in place since: the rule would read the new
     * values and return a wrong gradient without a sign. Every saved tensor counts, inputs included, since a
     * rule may read any of them.
     */
    private void checkVersions() {
        for (int i = 0; i < retained.length; i++) {
            int now = retained[i].version();
            if (now != savedVersions[i])
                throw new IllegalStateException(op + ": one of the variables needed for gradient computation has been modified by an inplace operation: "
                        + describeRetained(i) + " is at version " + now + "; expected version " + savedVersions[i]
                        + " instead. Write in place only after backward, or into a copy");
        }
    }

    private String describeRetained(int i) {
        Tensor t = retained[i];
        String what = "tensor of shape " + java.util.Arrays.toString(t.shape()) + ", " + t.dtype() + " on " + t.device();
        int input = -1;
        for (int k = 0, seen = 0; k < inputs.length; k++) {
            if (inputs[k] == null) continue;
            if (seen++ == i) {
                input = k;
                break;
            }
        }
        String role = input >= 0 ? "input " + input + " of " + op : "a tensor saved by " + op;
        Node producer = input >= 0 ? inputs[input].gradFn() : null;
        return role + " (" + what + (producer != null ? ", output of " + producer.op() : "") + ")";
    }

    /**
     * One more holder: the tensor it produced, or a node recorded with that tensor as an input. The tensor layer
     * keeps the count (recording an op, closing a tensor); code outside it has no reason to call this or {@link #drop}.
     */
    public void hold() { HOLDERS.getAndAdd(this, 1); }

    /**
     * One holder fewer. A node left with none is freed and lets go of the nodes its inputs came from, and so on up
     * the graph (a work list, not recursion: a step-by-step recurrence is a chain thousands of nodes long).
     *
     * @param node the node a holder lets go of
     */
    public static void drop(Node node) {
        if ((int) HOLDERS.getAndAdd(node, -1) != 1) return;
        ArrayDeque<Node> unheld = null;
        for (Node n = node; n != null; n = unheld == null ? null : unheld.poll()) {
            n.free();
            for (Tensor in : n.inputs) {
                Node up = in == null ? null : in.gradFn();
                if (up == null || (int) HOLDERS.getAndAdd(up, -1) != 1) continue;
                if (unheld == null) unheld = new ArrayDeque<>();
                unheld.push(up);
            }
        }
    }

    /** Releases what the node kept alive; idempotent. */
    public void free() {
        if (fn == null) return;
        fn = null;
        for (Tensor t : retained) t.close();
    }

    /** {@return the op's name followed by {@code Backward}, as PyTorch names {@code grad_fn}} */
    @Override
    public String toString() { return op + "Backward"; }
}
