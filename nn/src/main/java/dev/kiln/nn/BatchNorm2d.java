package dev.kiln.nn;

/** Batch normalisation of (N, C, H, W) input. */
public final class BatchNorm2d extends BatchNorm {
    public BatchNorm2d(int features) { this(features, 1e-5, 0.1); }

    public BatchNorm2d(int features, double eps, double momentum) { super(features, eps, momentum, 4); }
}
