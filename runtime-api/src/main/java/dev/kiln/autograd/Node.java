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

    public Node(String op, Tensor[] inputs, BackwardFn fn, Tensor[] retained) {
        this.op = op;
        this.inputs = inputs;
        this.fn = fn;
        this.retained = retained;
    }

    public String op() { return op; }

    public Tensor[] inputs() { return inputs; }

    public boolean isFreed() { return fn == null; }

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

    @Override
    public String toString() { return op + "Backward"; }
}
