package dev.kiln;

import dev.kiln.autograd.GradMode;

import java.util.Arrays;

/**
 * Group and instance normalisation of (N, C, ...) tensors, composed from differentiable reductions: each sample's
 * channels are split into groups, and each group is normalised by its own mean and biased variance. Instance
 * normalisation is the case of one channel per group, with optional running statistics as in PyTorch.
 */
final class GroupNormalization {
    private GroupNormalization() {}

    /** A normalised input with the per-(sample, group) statistics it used, shaped (N, groups, 1). */
    private record Normalized(Tensor output, Tensor mean, Tensor var) {}

    static Tensor groupNorm(Tensor x, int groups, Tensor weight, Tensor bias, double eps) {
        checkInput("group_norm", x, 1);
        if (groups <= 0 || x.size(1) % groups != 0)
            throw new IllegalArgumentException("group_norm: channels must divide into groups, got " + groups + " groups for input " + Elementwise.describe(x));
        checkPerChannel("group_norm", x, weight, bias);
        try (Scope scope = Scope.open()) {
            return scope.keep(affine(normalize(x, groups, eps).output(), weight, bias));
        }
    }

    /**
     * With input statistics (training, or no running statistics): each (sample, channel) normalised by its own, and
     * the running statistics, when given, move toward their mean over the batch (the variance unbiased), in place.
     * Otherwise: with the running statistics, as batch normalisation in evaluation.
     */
    static Tensor instanceNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias, boolean useInputStats,
                               double momentum, double eps) {
        checkInput("instance_norm", x, useInputStats ? 2 : 1);
        checkPerChannel("instance_norm", x, runningMean, runningVar, weight, bias);
        if ((runningMean == null) != (runningVar == null))
            throw new IllegalArgumentException("instance_norm: running mean and running variance must be given together");
        if (!useInputStats) {
            if (runningMean == null)
                throw new IllegalArgumentException("instance_norm: without input statistics the running mean and variance are needed");
            return Normalization.batchNorm(x, runningMean, runningVar, weight, bias, false, momentum, eps, true);
        }
        int c = x.size(1);
        try (Scope scope = Scope.open()) {
            Normalized n = normalize(x, c, eps);
            if (runningMean != null) {
                long perInstance = x.numel() / ((long) x.size(0) * c);
                try (GradMode ignored = GradMode.noGrad()) {
                    Tensor mean = n.mean().detach().reshape(x.size(0), c).mean(0);
                    Tensor var = n.var().detach().reshape(x.size(0), c).mean(0).mul((double) perInstance / (perInstance - 1));
                    runningMean.mul_(1 - momentum).add_(mean, momentum);
                    runningVar.mul_(1 - momentum).add_(var, momentum);
                }
            }
            return scope.keep(affine(n.output(), weight, bias));
        }
    }

    /** x seen as (N, groups, rest), each row normalised; the output in x's shape. */
    private static Normalized normalize(Tensor x, int groups, double eps) {
        Tensor rows = x.reshape(x.size(0), groups, -1);
        Tensor mean = rows.mean(new int[] {2}, true), var = rows.var(new int[] {2}, 0, true);
        return new Normalized(rows.sub(mean).mul(var.add(eps).rsqrt()).reshape(x.shape()), mean, var);
    }

    /** {@code y * weight[c] + bias[c]}, either optional. */
    private static Tensor affine(Tensor y, Tensor weight, Tensor bias) {
        int[] shape = new int[y.dim()];
        Arrays.fill(shape, 1);
        shape[1] = y.size(1);
        if (weight != null) y = y.mul(weight.reshape(shape));
        if (bias != null) y = y.add(bias.reshape(shape));
        return y;
    }

    /** (N, C, ...) floating input with more than {@code minPerInstance - 1} values per sample and channel. */
    private static void checkInput(String op, Tensor x, int minPerInstance) {
        x.checkOpen(op);
        if (x.dim() < 2 || !x.dtype().isFloatingPoint())
            throw new IllegalArgumentException(op + ": expected a floating input of rank >= 2 (N, C, ...), got " + Elementwise.describe(x));
        long perInstance = x.size(0) * (long) x.size(1) == 0 ? 0 : x.numel() / ((long) x.size(0) * x.size(1));
        if (perInstance < minPerInstance)
            throw new IllegalArgumentException(op + ": expected more than " + (minPerInstance - 1) + " value(s) per sample and channel, got input "
                    + Elementwise.describe(x));
    }

    private static void checkPerChannel(String op, Tensor x, Tensor... perChannel) {
        for (Tensor p : perChannel) {
            if (p == null) continue;
            p.checkOpen(op);
            Elementwise.sameDevice(op, x, p);
            if (p.dim() != 1 || p.size(0) != x.size(1))
                throw new IllegalArgumentException(op + ": per-channel tensor " + Elementwise.describe(p) + " must be 1-D of size " + x.size(1)
                        + " for input " + Elementwise.describe(x));
        }
    }
}
