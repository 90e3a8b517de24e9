package dev.kiln.nn;

/** Instance normalisation of (N, C, L) input; see {@link InstanceNorm}. */
public final class InstanceNorm1d extends InstanceNorm {
    /**
     * PyTorch's defaults: eps 1e-5, momentum 0.1, no learned scale and shift, no running statistics.
     *
     * @param features the channels C
     */
    public InstanceNorm1d(int features) { this(features, 1e-5, 0.1, false, false); }

    /**
     * Every option.
     *
     * @param features the channels C
     * @param eps added to the variance
     * @param momentum the running statistics' update weight
     * @param affine whether to learn a per-channel scale and shift
     * @param trackRunningStats whether to keep running statistics and normalise by them in evaluation
     */
    public InstanceNorm1d(int features, double eps, double momentum, boolean affine, boolean trackRunningStats) {
        super(features, eps, momentum, affine, trackRunningStats, 3);
    }
}
