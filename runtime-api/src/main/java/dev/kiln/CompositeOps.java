package dev.kiln;

import dev.kiln.autograd.GradMode;

/**
 * Ops composed of other tensor ops, so they run on every device and differentiate through their parts:
 * masked_fill, repeat, norm, any/all, isfinite, isclose/allclose.
 */
final class CompositeOps {
    private CompositeOps() {}

    /** {@code value} where mask (bool, broadcast to x) is true, else x; the gradient reaches x where mask is false. */
    static Tensor maskedFill(Tensor x, Tensor mask, double value) {
        if (mask.dtype() != DType.BOOL)
            throw new IllegalArgumentException("masked_fill: mask must be bool, got " + Elementwise.describe(mask) + " for input " + Elementwise.describe(x));
        Shapes.broadcast("masked_fill", mask.shape(), x.shape());
        try (Tensor fill = Tensor.scalar(value, x.dtype(), x.device())) {
            Tensor out = Tensor.where(mask, fill, x);
            if (!java.util.Arrays.equals(out.shape(), x.shape()))
                throw new IllegalArgumentException("masked_fill: mask " + Elementwise.describe(mask) + " would grow input " + Elementwise.describe(x));
            return out;
        }
    }

    /**
     * PyTorch's {@code repeat}: tiles x {@code repeats[i]} times along dimension i; with more repeats than
     * dimensions, x gains leading dimensions of size 1 first. A broadcast then a reshape, so its gradient sums the tiles.
     */
    static Tensor repeat(Tensor x, int... repeats) {
        if (repeats.length < x.dim())
            throw new IllegalArgumentException("repeat: " + repeats.length + " repeat counts for a tensor of " + x.dim() + " dimensions " + Elementwise.describe(x));
        int lead = repeats.length - x.dim();
        int[] shape = new int[repeats.length];
        for (int i = 0; i < repeats.length; i++) {
            if (repeats[i] < 0) throw new IllegalArgumentException("repeat: counts must be non-negative, got " + java.util.Arrays.toString(repeats));
            shape[i] = i < lead ? 1 : x.shape()[i - lead];
        }
        // (d0, d1, ...) as (1, d0, 1, d1, ...), expanded to (r0, d0, r1, d1, ...), then merged pairwise.
        int[] interleaved = new int[2 * shape.length], expanded = new int[2 * shape.length], result = new int[shape.length];
        for (int i = 0; i < shape.length; i++) {
            interleaved[2 * i] = 1;
            interleaved[2 * i + 1] = shape[i];
            expanded[2 * i] = repeats[i];
            expanded[2 * i + 1] = shape[i];
            result[i] = repeats[i] * shape[i];
        }
        try (Tensor v = x.reshape(interleaved); Tensor e = v.expand(expanded)) {
            return e.reshape(result);
        }
    }

    /**
     * Vector p-norm over dims (all when null or empty), PyTorch's {@code torch.linalg.vector_norm}: p = 2 (also the
     * Frobenius norm), 1, any p &gt; 0, +inf (largest magnitude) and -inf (smallest). The 2-norm's gradient is
     * {@code x / norm}, 0 where the norm is 0 (PyTorch's subgradient), not NaN.
     */
    static Tensor norm(Tensor x, double p, int[] dims, boolean keepDim) {
        if (!x.dtype().isFloatingPoint())
            throw new IllegalArgumentException("norm: expected a floating-point tensor, got " + Elementwise.describe(x));
        if (!(p > 0) && p != Double.NEGATIVE_INFINITY)
            throw new IllegalArgumentException("norm: order p must be positive or +-inf, got " + p);
        try (Tensor abs = x.abs()) {
            if (p == Double.POSITIVE_INFINITY) return abs.amax(dims, keepDim);
            if (p == Double.NEGATIVE_INFINITY) return abs.amin(dims, keepDim);
            if (p == 1) return abs.sum(dims, keepDim);
            if (p == 2) return euclidean(x, dims, keepDim);
            try (Tensor powered = abs.pow(p); Tensor summed = powered.sum(dims, keepDim)) {
                return summed.pow(1 / p);
            }
        }
    }

    private static Tensor euclidean(Tensor x, int[] dims, boolean keepDim) {
        int[] axes = Shapes.axes("norm", dims, x.dim());
        Tensor out;
        try (GradMode ignored = GradMode.noGrad(); Tensor sq = x.square(); Tensor s = sq.sum(axes, keepDim)) {
            out = s.sqrt();
        }
        return Autograd.record("norm", out, x, g -> {
            Tensor n = keepDim ? out : unsqueezeAll(out, axes);
            Tensor gk = keepDim ? g : unsqueezeAll(g, axes);
            Tensor safe = Tensor.where(n.eq(0), Tensor.onesLike(n), n);
            Tensor scaled = x.mul(gk.div(safe));
            return new Tensor[] {Tensor.where(n.eq(0), Tensor.zerosLike(scaled), scaled)};
        }, out);
    }

    private static Tensor unsqueezeAll(Tensor t, int[] sortedAxes) {
        Tensor r = t;
        for (int a : sortedAxes) r = r.unsqueeze(a);
        return r;
    }

    /** Whether any element over dims is non-zero, as a bool tensor (0-d without dims). */
    static Tensor any(Tensor x, int[] dims, boolean keepDim) {
        try (Tensor hit = x.ne(0); Tensor count = hit.to(DType.INT64); Tensor s = count.sum(dims, keepDim)) {
            return s.gt(0);
        }
    }

    static Tensor all(Tensor x, int[] dims, boolean keepDim) {
        try (Tensor miss = x.eq(0); Tensor count = miss.to(DType.INT64); Tensor s = count.sum(dims, keepDim)) {
            return s.eq(0);
        }
    }

    /** True where x is neither infinite nor NaN; integers and bools are always finite. */
    static Tensor isfinite(Tensor x) {
        if (!x.dtype().isFloatingPoint()) return Tensor.ones(DType.BOOL, x.device(), x.shape());
        try (Tensor abs = x.abs()) {
            return abs.lt(Double.POSITIVE_INFINITY);
        }
    }

    /** {@code |a - b| <= atol + rtol * |b|} elementwise (broadcast), infinities equal to themselves, NaN equal to NaN if asked. */
    static Tensor isclose(Tensor a, Tensor b, double rtol, double atol, boolean equalNan) {
        if (rtol < 0 || atol < 0) throw new IllegalArgumentException("isclose: rtol and atol must be non-negative, got " + rtol + ", " + atol);
        try (GradMode ignored = GradMode.noGrad(); Scope scope = Scope.open()) {
            DType dt = DType.promote(a.dtype(), b.dtype()).toFloating();
            Tensor af = a.to(dt), bf = b.to(dt);
            Tensor close = af.sub(bf).abs().le(bf.abs().mul(rtol).add(atol)).logicalOr(af.eq(bf));
            if (equalNan) close = close.logicalOr(af.isNan().logicalAnd(bf.isNan()));
            return scope.keep(close);
        }
    }

    static boolean allclose(Tensor a, Tensor b, double rtol, double atol, boolean equalNan) {
        try (Tensor close = isclose(a, b, rtol, atol, equalNan); Tensor all = all(close, null, false)) {
            return all.item() != 0;
        }
    }
}
