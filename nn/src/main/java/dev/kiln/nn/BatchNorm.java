package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Tensor;

/**
 * Batch normalisation over the channel dimension 1, with learnable scale and shift and running statistics
 * (buffers {@code running_mean}, {@code running_var}, {@code num_batches_tracked}) used in evaluation.
 * {@link BatchNorm1d} takes (N, C) or (N, C, L), {@link BatchNorm2d} (N, C, H, W).
 */
public abstract sealed class BatchNorm extends Module permits BatchNorm1d, BatchNorm2d {
    private final int features;
    private final double eps;
    private final double momentum;
    private final int[] ranks;

    BatchNorm(int features, double eps, double momentum, int... ranks) {
        if (features <= 0) throw new IllegalArgumentException(getClass().getSimpleName() + ": features must be positive, got " + features);
        this.features = features;
        this.eps = eps;
        this.momentum = momentum;
        this.ranks = ranks;
        registerParameter("weight", Tensor.ones(features));
        registerParameter("bias", Tensor.zeros(features));
        registerBuffer("running_mean", Tensor.zeros(features));
        registerBuffer("running_var", Tensor.ones(features));
        registerBuffer("num_batches_tracked", Tensor.zeros(DType.INT64, null));
    }

    @Override
    public Tensor forward(Tensor input) {
        boolean rankOk = false;
        for (int r : ranks) rankOk |= input.dim() == r;
        if (!rankOk)
            throw new IllegalArgumentException(getClass().getSimpleName() + ": expected input of rank " + java.util.Arrays.toString(ranks) + ", got shape "
                    + java.util.Arrays.toString(input.shape()));
        if (isTraining()) {
            try (dev.kiln.autograd.GradMode g = dev.kiln.autograd.GradMode.noGrad()) {
                buffer("num_batches_tracked").add_(1);
            }
        }
        return Functional.batchNorm(input, buffer("running_mean"), buffer("running_var"), param("weight"), param("bias"), isTraining(), momentum, eps);
    }

    @Override
    protected String describe() { return getClass().getSimpleName() + "(" + features + ", eps=" + eps + ", momentum=" + momentum + ")"; }
}
