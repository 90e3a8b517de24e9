package dev.kiln;

import dev.kiln.autograd.GradMode;
import dev.kiln.backend.Backend;
import dev.kiln.backend.View;

import java.util.Arrays;
import java.lang.ref.Reference;

/** Batch normalisation and dropout, composed from differentiable ops; layer normalisation, a fused backend kernel with its fused gradient. */
final class Normalization {
    private Normalization() {}

    /**
     * Normalises (N, C, ...) per channel. In training, with batch statistics (biased variance), and the running
     * statistics, when given, move toward them in place: {@code running = (1 - momentum) * running + momentum * batch},
     * with the unbiased batch variance as PyTorch does. In evaluation, with the running statistics.
     */
    static Tensor batchNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                            boolean training, double momentum, double eps, boolean unbiasedRunningVar) {
        x.checkOpen("batch_norm");
        if (x.dim() < 2 || !x.dtype().isFloatingPoint())
            throw new IllegalArgumentException("batch_norm: expected a floating input of rank >= 2 (N, C, ...), got " + Elementwise.describe(x));
        int c = x.size(1);
        for (Tensor p : new Tensor[] {runningMean, runningVar, weight, bias}) checkPerChannel(p, c, x);
        if ((runningMean == null) != (runningVar == null))
            throw new IllegalArgumentException("batch_norm: running mean and running variance must be given together");
        boolean useBatchStats = training || runningMean == null;
        int[] axes = new int[x.dim() - 1];
        axes[0] = 0;
        for (int i = 2; i < x.dim(); i++) axes[i - 1] = i;
        long perChannel = x.numel() / Math.max(c, 1);
        if (training && perChannel <= 1)
            throw new IllegalArgumentException("batch_norm: expected more than 1 value per channel when training, got input " + Elementwise.describe(x));
        int[] channelShape = new int[x.dim()];
        Arrays.fill(channelShape, 1);
        channelShape[1] = c;
        try (Scope scope = Scope.open()) {
            Tensor mean, var;
            if (useBatchStats) {
                mean = x.mean(axes, true);
                var = x.var(axes, 0, true);
                if (training && runningMean != null) updateRunning(runningMean, runningVar, mean, var, momentum, unbiasedRunningVar ? perChannel : 0);
            } else {
                mean = runningMean.reshape(channelShape);
                var = runningVar.reshape(channelShape);
            }
            if (weight != null && bias != null && Fused.computesIn(x, mean, var, weight, bias))
                return scope.keep(Fused.apply(BATCH_NORM_APPLY, new double[] {eps}, x, mean, var,
                        weight.reshape(channelShape), bias.reshape(channelShape))[0]);
            Tensor y = x.sub(mean).mul(var.add(eps).rsqrt());
            return scope.keep(affine(y, weight, bias, channelShape));
        }
    }

    /**
     * {@code (x - mean) * rsqrt(var + eps) * weight + bias} in one pass, in the unfused ops' order; its gradients for
     * x, the statistics and the affine parameters come from one derived program too.
     */
    private static final dev.kiln.backend.FusedProgram BATCH_NORM_APPLY;

    static {
        var b = dev.kiln.backend.FusedProgram.builder();
        int x = b.input(), mean = b.input(), var = b.input(), weight = b.input(), bias = b.input(), eps = b.scalar();
        int normalized = b.mul(b.sub(x, mean), b.unary(dev.kiln.backend.UnaryOp.RSQRT, b.add(var, eps)));
        BATCH_NORM_APPLY = b.output(b.add(b.mul(normalized, weight), bias)).build();
    }

    /** {@code n}: values per channel, to make the batch variance unbiased; 0 keeps it biased. */
    private static void updateRunning(Tensor runningMean, Tensor runningVar, Tensor mean, Tensor var, double momentum, long n) {
        try (GradMode ignored = GradMode.noGrad(); Scope scope = Scope.open()) {
            int c = runningMean.size(0);
            runningMean.mul_(1 - momentum).add_(mean.reshape(c), momentum);
            runningVar.mul_(1 - momentum).add_(n == 0 ? var.reshape(c) : var.reshape(c).mul((double) n / (n - 1)), momentum);
        }
    }

    private static void checkPerChannel(Tensor p, int c, Tensor x) {
        if (p == null) return;
        Elementwise.sameDevice("batch_norm", x, p);
        if (p.dim() != 1 || p.size(0) != c)
            throw new IllegalArgumentException("batch_norm: per-channel tensor " + Elementwise.describe(p) + " must be 1-D of size " + c
                    + " for input " + Elementwise.describe(x));
    }

    /**
     * Normalises over the trailing dimensions {@code normalizedShape} (biased variance), then scales and shifts
     * by weight and bias of that shape when given.
     */
    static Tensor layerNorm(Tensor x, int[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        Functional.NormalizedWithStatistics r = fusedLayerNorm(x, normalizedShape, weight, bias, eps);
        r.mean().close();
        r.invStd().close();
        return r.output();
    }

    /** Layer normalisation, also returning the mean and 1 / sqrt(var + eps) it used (reduced dimensions kept as 1). */
    static Functional.NormalizedWithStatistics layerNormWithStatistics(Tensor x, int[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        Functional.NormalizedWithStatistics r = fusedLayerNorm(x, normalizedShape, weight, bias, eps);
        long n = Shapes.numel(normalizedShape);
        Tensor mean = r.mean(), invStd = r.invStd();
        DType from = x.dtype();
        int[] shape = x.shape();
        // The statistics' own gradients, for callers that use them: d mean / dx = 1 / N and
        // d invStd / dx = -invStd^3 (x - mean) / N on each row.
        Autograd.record("layer_norm_mean", mean, x, g -> new Tensor[] {as(g.div((double) n).expand(shape), from)});
        Autograd.record("layer_norm_inv_std", invStd, x, g -> new Tensor[] {
                as(as(x, mean.dtype()).sub(mean).mul(g.mul(invStd.pow(3)).div(-(double) n)), from)}, mean, invStd);
        return r;
    }

    /**
     * The backend's fused layer norm in the common floating type of x, weight and bias (half types compute in
     * float32, as the composed ops they replace did), recorded as one node whose backward is the fused backward.
     * The statistics come back in x's compute type and carry no gradient.
     */
    private static Functional.NormalizedWithStatistics fusedLayerNorm(Tensor x, int[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        checkLayerNorm(x, normalizedShape, weight, bias);
        int k = normalizedShape.length;
        DType statsType = x.dtype().toFloating();
        DType compute = commonType(statsType, weight, bias);
        int[] statsShape = x.shape();
        Arrays.fill(statsShape, x.dim() - k, x.dim(), 1);
        Backend be = x.backend();
        try (Scope scope = Scope.open()) {
            Tensor xc = as(x, compute), wc = as(weight, compute), bc = as(bias, compute);
            Tensor out = Tensor.allocate(be, compute, x.shape());
            Tensor mean = Tensor.allocate(be, compute, statsShape), invStd = Tensor.allocate(be, compute, statsShape);
            if (x.numel() > 0) be.layerNorm(xc.view, k, view(wc), view(bc), eps, out.view, mean.view, invStd.view);
            else if (mean.numel() > 0) {
                be.fill(mean.view, Double.NaN);
                Reference.reachabilityFence(mean);
                be.fill(invStd.view, Double.NaN);
                Reference.reachabilityFence(invStd);
            }
            Autograd.record("layer_norm", out, new Tensor[] {xc, wc, bc}, g -> {
                Tensor gi = needsGrad(xc) ? Tensor.allocate(be, compute, xc.shape()) : null;
                Tensor gw = needsGrad(wc) ? Tensor.allocate(be, compute, normalizedShape) : null;
                Tensor gb = needsGrad(bc) ? Tensor.allocate(be, compute, normalizedShape) : null;
                if (x.numel() > 0) {
                    Tensor gc = as(g, compute);
                    be.layerNormBackward(gc.view, xc.view, k, view(wc), mean.view, invStd.view, view(gi), view(gw), view(gb));
                    Reference.reachabilityFence(new Object[] {gc, xc, mean, invStd, wc, gi, gw, gb});
                } else {
                    for (Tensor t : new Tensor[] {gw, gb}) if (t != null && t.numel() > 0) be.fill(t.view, 0);
                }
                return new Tensor[] {gi, gw, gb};
            }, mean, invStd);
            Tensor meanOut = mean.dtype() == statsType ? mean : mean.to(statsType);
            Tensor invStdOut = invStd.dtype() == statsType ? invStd : invStd.to(statsType);
            return new Functional.NormalizedWithStatistics(scope.keep(out), scope.keep(meanOut), scope.keep(invStdOut));
        }
    }

    private static void checkLayerNorm(Tensor x, int[] normalizedShape, Tensor weight, Tensor bias) {
        x.checkOpen("layer_norm");
        int k = normalizedShape.length;
        int r = x.dim();
        boolean fits = k >= 1 && k <= r && x.dtype().isFloatingPoint()
                && Arrays.equals(Arrays.copyOfRange(x.shape(), r - k, r), normalizedShape);
        if (!fits)
            throw new IllegalArgumentException("layer_norm: normalized shape " + Shapes.str(normalizedShape)
                    + " must be non-empty and match the trailing dimensions of a floating input, got " + Elementwise.describe(x));
        for (Tensor p : new Tensor[] {weight, bias}) {
            if (p == null) continue;
            p.checkOpen("layer_norm");
            if (!Arrays.equals(p.shape(), normalizedShape))
                throw new IllegalArgumentException("layer_norm: weight and bias must have the normalized shape "
                        + Shapes.str(normalizedShape) + ", got " + Elementwise.describe(p) + " for input " + Elementwise.describe(x));
            Elementwise.sameDevice("layer_norm", x, p);
        }
    }

    private static DType commonType(DType t, Tensor... others) {
        for (Tensor p : others) if (p != null) t = DType.promote(t, p.dtype());
        return t;
    }

    private static boolean needsGrad(Tensor t) { return t != null && t.requiresGrad(); }

    private static Tensor as(Tensor t, DType dtype) { return t == null || t.dtype() == dtype ? t : t.to(dtype); }

    private static View view(Tensor t) { return t == null ? null : t.view; }

    /** {@code y * weight + bias} with both reshaped to broadcast; either may be null. */
    private static Tensor affine(Tensor y, Tensor weight, Tensor bias, int[] shape) {
        if (weight != null) y = y.mul(weight.reshape(shape));
        if (bias != null) y = y.add(bias.reshape(shape));
        return y;
    }

    /**
     * Zeroes each element with probability {@code p} and scales the survivors by {@code 1 / (1 - p)}, drawing from
     * the global Philox stream. Outside training, or with p = 0, returns the input itself, as PyTorch does.
     */
    static Tensor dropout(Tensor x, double p, boolean training) { return dropout(x, p, training, null); }

    /** {@code x * (keep * scale)} in one pass (the unfused ops' order); its gradient, {@code g * (keep * scale)}, in one too. */
    private static final dev.kiln.backend.FusedProgram DROPOUT;

    static {
        var b = dev.kiln.backend.FusedProgram.builder();
        int x = b.input(), keep = b.input(), scale = b.scalar();
        DROPOUT = b.output(b.mul(x, b.mul(keep, scale))).build();
    }

    /** Masks drawn from {@code generator}, or the default generator when it is null. */
    static Tensor dropout(Tensor x, double p, boolean training, dev.kiln.random.Generator generator) {
        x.checkOpen("dropout");
        if (!(p >= 0 && p <= 1))
            throw new IllegalArgumentException("dropout: probability must be in [0, 1], got " + p);
        if (!x.dtype().isFloatingPoint())
            throw new IllegalArgumentException("dropout: needs a floating-point input, got " + Elementwise.describe(x));
        if (!training || p == 0) return x;
        if (p == 1) {
            try (Tensor zero = Tensor.zerosLike(x)) {
                return x.mul(zero);
            }
        }
        try (Tensor keep = Creation.random(generator, dev.kiln.backend.Distribution.BERNOULLI, 1 - p, 0, x.dtype(), x.device(), x.shape())) {
            if (Fused.computesIn(x)) return Fused.apply(DROPOUT, new double[] {1 / (1 - p)}, x, keep)[0];
            try (Tensor scaled = keep.mul(1 / (1 - p))) {
                return x.mul(scaled);
            }
        }
    }
}
