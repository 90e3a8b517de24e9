package dev.kiln.autograd;

import dev.kiln.Tensor;

/**
 * One recorded op in the dynamic graph: its name, its inputs and its backward rule. A node keeps the storage of
 * its inputs and saved tensors alive until the graph is freed (after {@code backward()} unless the graph is
 * retained, or when the tensor it produced is closed), so closing an intermediate tensor early never breaks a
 * later backward pass.
 */
public final class Node {
    private final String op;
    private final Tensor[] inputs;
    private final Tensor[] retained;
    private BackwardFn fn;

    /**
     * Records one op.
     *
     * @param op the op's name, as messages and {@code grad_fn} show it
     * @param inputs the op's inputs, in the order {@code fn} returns their gradients
     * @param fn the backward rule
     * @param retained the tensors (aliases of inputs and saved values) this node keeps alive and closes when freed
     */
    public Node(String op, Tensor[] inputs, BackwardFn fn, Tensor[] retained) {
        this.op = op;
        this.inputs = inputs;
        this.fn = fn;
        this.retained = retained;
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
        return fn.apply(grad);
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
