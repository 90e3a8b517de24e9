package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.backend.Pool2dSpec;
import dev.kiln.Tensor;

/** Max pooling with a square window; stride defaults to the kernel size. */
public final class MaxPool2d extends Module {
    private final Pool2dSpec spec;

    public MaxPool2d(int kernel) { this(kernel, kernel, 0); }

    public MaxPool2d(int kernel, int stride, int padding) { this(Pool2dSpec.of(kernel, stride, padding)); }

    public MaxPool2d(Pool2dSpec spec) { this.spec = spec; }

    @Override
    public Tensor forward(Tensor input) { return Functional.maxPool2d(input, spec); }

    @Override
    protected String describe() { return "MaxPool2d(" + spec.kernelH() + ", stride=" + spec.strideH() + ", padding=" + spec.padH() + ")"; }
}
