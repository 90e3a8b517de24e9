package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;

/**
 * Instance normalisation: each sample's channels normalised by their own statistics. As in PyTorch, without a
 * learned scale and shift and without running statistics by default; with {@code trackRunningStats}, the buffers
 * {@code running_mean} and {@code running_var} follow the batches in training and normalise in evaluation.
 * {@link InstanceNorm1d} takes (N, C, L), {@link InstanceNorm2d} (N, C, H, W).
 */
public abstract sealed class InstanceNorm extends Module permits InstanceNorm1d, InstanceNorm2d {
    private final int features;
    private final double eps;
    private final double momentum;
    private final boolean trackRunningStats;
    private final int rank;

    InstanceNorm(int features, double eps, double momentum, boolean affine, boolean trackRunningStats, int rank) {
        if (features <= 0) throw new IllegalArgumentException(getClass().getSimpleName() + ": features must be positive, got " + features);
        this.features = features;
        this.eps = eps;
        this.momentum = momentum;
        this.trackRunningStats = trackRunningStats;
        this.rank = rank;
        if (affine) {
            registerParameter("weight", Tensor.ones(features));
            registerParameter("bias", Tensor.zeros(features));
        }
        if (trackRunningStats) {
            registerBuffer("running_mean", Tensor.zeros(features));
            registerBuffer("running_var", Tensor.ones(features));
        }
    }

    @Override
    public Tensor forward(Tensor input) {
        if (input.dim() != rank)
            throw new IllegalArgumentException(getClass().getSimpleName() + ": expected input of rank " + rank + ", got shape " + java.util.Arrays.toString(input.shape()));
        Tensor runningMean = trackRunningStats ? buffer("running_mean") : null, runningVar = trackRunningStats ? buffer("running_var") : null;
        return Functional.instanceNorm(input, runningMean, runningVar, optionalParam("weight"), optionalParam("bias"), isTraining() || !trackRunningStats,
                momentum, eps);
    }

    @Override
    protected String describe() {
        return getClass().getSimpleName() + "(" + features + ", eps=" + eps + ", momentum=" + momentum + ", affine=" + (optionalParam("weight") != null)
                + ", track_running_stats=" + trackRunningStats + ")";
    }
}
