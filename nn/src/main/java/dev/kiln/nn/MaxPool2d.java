package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.backend.Pool2dSpec;
import dev.kiln.Tensor;

/** Max pooling with a square window; stride defaults to the kernel size. */
public final class MaxPool2d extends Module {
    private final Pool2dSpec spec;

    /**
     * Square max pooling with stride equal to the kernel, no padding.
     *
     * @param kernel the window's side
     */
    public MaxPool2d(int kernel) { this(kernel, kernel, 0); }

    /**
     * Square max pooling.
     *
     * @param kernel the window's side
     * @param stride the step between windows
     * @param padding the implicit negative-infinity padding on each side
     */
    public MaxPool2d(int kernel, int stride, int padding) { this(Pool2dSpec.of(kernel, stride, padding)); }

    /**
     * Max pooling of any geometry.
     *
     * @param spec the window, strides, padding, dilation and ceil mode
     */
    public MaxPool2d(Pool2dSpec spec) { this.spec = spec; }

    @Override
    public Tensor forward(Tensor input) { return Functional.maxPool2d(input, spec); }

    @Override
    protected String describe() { return "MaxPool2d(" + spec.kernelH() + ", stride=" + spec.strideH() + ", padding=" + spec.padH() + ")"; }
}
