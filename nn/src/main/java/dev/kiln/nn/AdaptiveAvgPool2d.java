package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;

/** Average pooling to a fixed (outH, outW) whatever the input size. */
public final class AdaptiveAvgPool2d extends Module {
    private final int outH;
    private final int outW;

    /**
     * Pooling to an output of {@code outH} by {@code outW}.
     *
     * @param outH the output height
     * @param outW the output width
     * @throws IllegalArgumentException if a size is not positive
     */
    public AdaptiveAvgPool2d(int outH, int outW) {
        if (outH <= 0 || outW <= 0) throw new IllegalArgumentException("AdaptiveAvgPool2d: output size must be positive, got " + outH + "x" + outW);
        this.outH = outH;
        this.outW = outW;
    }

    @Override
    public Tensor forward(Tensor input) {
        return outH == 1 && outW == 1 ? Functional.globalAvgPool2d(input) : Functional.adaptiveAvgPool2d(input, outH, outW);
    }

    @Override
    protected String describe() { return "AdaptiveAvgPool2d(" + outH + ", " + outW + ")"; }
}
