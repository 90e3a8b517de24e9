package dev.kiln.nn;

/** Batch normalisation of (N, C) or (N, C, L) input. */
public final class BatchNorm1d extends BatchNorm {
    public BatchNorm1d(int features) { this(features, 1e-5, 0.1); }

    public BatchNorm1d(int features, double eps, double momentum) { super(features, eps, momentum, 2, 3); }
}
