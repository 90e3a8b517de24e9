package dev.kiln.nn;

import dev.kiln.Tensor;

/** Flattens dimensions startDim..endDim into one; by default everything but the batch dimension. */
public final class Flatten extends Module {
    private final int startDim;
    private final int endDim;

    /**
     * Flattens every dimension after the batch one, as PyTorch's default.
     */
    public Flatten() { this(1, -1); }

    /**
     * Flattens dimensions {@code startDim} to {@code endDim} (inclusive, negative from the end) into one.
     *
     * @param startDim the first dimension flattened
     * @param endDim the last dimension flattened
     */
    public Flatten(int startDim, int endDim) {
        this.startDim = startDim;
        this.endDim = endDim;
    }

    @Override
    public Tensor forward(Tensor input) { return input.flatten(startDim, endDim); }

    @Override
    protected String describe() { return "Flatten(" + startDim + ", " + endDim + ")"; }
}
