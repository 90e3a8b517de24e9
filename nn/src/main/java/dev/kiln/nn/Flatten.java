package dev.kiln.nn;

import dev.kiln.Tensor;

/** Flattens dimensions startDim..endDim into one; by default everything but the batch dimension. */
public final class Flatten extends Module {
    private final int startDim;
    private final int endDim;

    public Flatten() { this(1, -1); }

    public Flatten(int startDim, int endDim) {
        this.startDim = startDim;
        this.endDim = endDim;
    }

    @Override
    public Tensor forward(Tensor input) { return input.flatten(startDim, endDim); }

    @Override
    protected String describe() { return "Flatten(" + startDim + ", " + endDim + ")"; }
}
