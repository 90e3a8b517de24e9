package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.backend.Pool2dSpec;
import dev.kiln.Tensor;

/** Average pooling with a square window; stride defaults to the kernel, padded zeros count by default (as PyTorch). */
public final class AvgPool2d extends Module {
    private final Pool2dSpec spec;
    private final boolean countIncludePad;
    private final int divisorOverride;

    /**
     * Square average pooling with stride equal to the kernel, no padding.
     *
     * @param kernel the window's side
     */
    public AvgPool2d(int kernel) { this(kernel, kernel, 0); }

    /**
     * Square average pooling; padding counts in the average.
     *
     * @param kernel the window's side
     * @param stride the step between windows
     * @param padding zeros added on each side
     */
    public AvgPool2d(int kernel, int stride, int padding) { this(Pool2dSpec.of(kernel, stride, padding), true); }

    /**
     * Average pooling of any geometry.
     *
     * @param spec the window, stride and padding per axis
     * @param countIncludePad whether padded zeros count in each window's divisor
     */
    public AvgPool2d(Pool2dSpec spec, boolean countIncludePad) { this(spec, countIncludePad, 0); }

    /**
     * Average pooling with PyTorch's {@code divisor_override}.
     *
     * @param spec the window, stride and padding per axis
     * @param countIncludePad whether padded zeros count in each window's divisor (without an override)
     * @param divisorOverride if positive, the divisor of every window's sum; 0 for the window's count
     */

    public AvgPool2d(Pool2dSpec spec, boolean countIncludePad, int divisorOverride) {
        if (divisorOverride < 0) throw new IllegalArgumentException("AvgPool2d: divisorOverride must be positive (or 0 for none), got " + divisorOverride);
        this.spec = spec;
        this.countIncludePad = countIncludePad;
        this.divisorOverride = divisorOverride;
    }

    @Override
    public Tensor forward(Tensor input) { return Functional.avgPool2d(input, spec, countIncludePad, divisorOverride); }

    @Override
    protected String describe() { return "AvgPool2d(" + spec.kernelH() + ", stride=" + spec.strideH() + ", padding=" + spec.padH()
            + (divisorOverride > 0 ? ", divisor_override=" + divisorOverride : "") + ")"; }
}
