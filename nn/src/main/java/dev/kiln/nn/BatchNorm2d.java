package dev.kiln.nn;

/** Batch normalisation of (N, C, H, W) input. */
public final class BatchNorm2d extends BatchNorm {
    /**
     * Batch norm over inputs (N, C, H, W) with eps 1e-5 and momentum 0.1.
     *
     * @param features the channels C
     */
    public BatchNorm2d(int features) { this(features, 1e-5, 0.1); }

    /**
     * Batch norm over inputs (N, C, H, W).
     *
     * @param features the channels C
     * @param eps added to the variance
     * @param momentum the weight of each batch in the running statistics
     */
    public BatchNorm2d(int features, double eps, double momentum) { super(features, eps, momentum, 4); }
}
