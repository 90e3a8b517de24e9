package dev.kiln.nn;

/** Batch normalisation of (N, C) or (N, C, L) input. */
public final class BatchNorm1d extends BatchNorm {
    /**
     * Batch norm over inputs (N, C) or (N, C, L) with eps 1e-5 and momentum 0.1.
     *
     * @param features the channels C
     */
    public BatchNorm1d(int features) { this(features, 1e-5, 0.1); }

    /**
     * Batch norm over inputs (N, C) or (N, C, L).
     *
     * @param features the channels C
     * @param eps added to the variance
     * @param momentum the weight of each batch in the running statistics
     */
    public BatchNorm1d(int features, double eps, double momentum) { super(features, eps, momentum, 2, 3); }
}
