package dev.kiln;

import dev.kiln.backend.ArgReduceOp;
import dev.kiln.backend.ReduceOp;
import java.lang.ref.Reference;

/** Reductions over sets of axes, and softmax, with their gradients. */
final class Reductions {
    private Reductions() {}

    /** Runs a reduction kernel; the reduced axes stay as size 1 when {@code keepDim}, else they go. */
    private static Tensor reduce(String name, ReduceOp op, Tensor x, int[] axes, boolean keepDim, DType dt) {
        x.checkOpen(name);
        int[] kept = Shapes.keepDimShape(x.view.shape(), axes);
        Tensor out = reducedOutput(x, dt, kept, axes, keepDim);
        if (out.numel() > 0) {
            try (dev.kiln.autograd.GradMode ng = dev.kiln.autograd.GradMode.noGrad()) {
                reduceInto(op, x, axes, dt, keptView(out, kept), false, 0);
            } catch (RuntimeException | Error e) {
                out.close();
                throw e;
            }
        }
        return out;
    }

    /** Inputs that must be converted first (bool or int32 summed in int64) are converted this many elements at a time. */
    private static final long CAST_CHUNK = 1 << 22;

    /**
     * Reduces {@code x} into {@code out} (x's rank, reduced axes of size 1), or combines its result with what
     * {@code out} holds when {@code accumulate}. An input that needs converting to {@code dt} is split along
     * dimension {@code dim} (and the next ones, while one slice is still too large) so that no converted copy of
     * the whole input exists: summing 2e9 booleans must not take a 16 GB int64 copy.
     */
    private static void reduceInto(ReduceOp op, Tensor x, int[] axes, DType dt, dev.kiln.backend.View out, boolean accumulate, int dim) {
        if (x.dtype() == dt || x.numel() <= CAST_CHUNK || dim >= x.dim()) {
            try (Tensor converted = x.dtype() == dt ? null : x.to(dt)) {
                dev.kiln.backend.View in = converted == null ? x.view : converted.view;
                if (!accumulate) {
                    x.backend().reduce(op, in, axes, out);
                    return;
                }
                try (Tensor part = Tensor.allocate(x.backend(), dt, out.shape())) {
                    x.backend().reduce(op, in, axes, part.view);
                    x.backend().binary(op == ReduceOp.PROD ? dev.kiln.backend.BinaryOp.MUL : dev.kiln.backend.BinaryOp.ADD, out, part.view, out);
                }
            } finally {
                Reference.reachabilityFence(x);
            }
            return;
        }
        int n = x.view.shape()[dim];
        long perIndex = x.numel() / n;
        int step = (int) Math.max(1, CAST_CHUNK / perIndex);
        boolean reduced = java.util.Arrays.binarySearch(axes, dim) >= 0;
        for (int at = 0; at < n; at += step) {
            int len = Math.min(step, n - at);
            try (Tensor piece = x.narrow(dim, at, len)) {
                dev.kiln.backend.View target = reduced ? out : narrowed(out, dim, at, len);
                reduceInto(op, piece, axes, dt, target, reduced ? accumulate || at > 0 : accumulate, dim + 1);
            }
        }
    }

    private static dev.kiln.backend.View narrowed(dev.kiln.backend.View v, int dim, int at, int len) {
        int[] shape = v.shape().clone();
        shape[dim] = len;
        return v.withShape(shape, v.strides(), v.offset() + at * v.strides()[dim]);
    }

    /** A dense result of the kept-dims shape, with the reduced axes dropped unless keepDim. */
    private static Tensor reducedOutput(Tensor x, DType dt, int[] kept, int[] axes, boolean keepDim) {
        return Tensor.allocate(x.backend(), dt, keepDim ? kept : Shapes.dropAxes(kept, axes));
    }

    /** Kernels write through the kept-dims shape; dropping size-1 axes moves no element of a dense result. */
    private static dev.kiln.backend.View keptView(Tensor out, int[] kept) {
        return out.view.rank() == kept.length ? out.view : dev.kiln.backend.View.contiguous(out.view.buffer(), out.dtype(), kept);
    }

    /**
     * The incoming gradient broadcast back over the input's shape, as one view rather than a reshape and an
     * expand: the reduced axes get stride 0 and the others keep g's strides in order. {@code axes} are sorted.
     */
    private static Tensor expandBack(Tensor g, int[] inShape, int[] axes, boolean keepDim) {
        long[] gStrides = g.view.strides();
        long[] strides = new long[inShape.length];
        for (int i = 0, j = 0, k = 0; i < inShape.length; i++) {
            boolean reduced = k < axes.length && axes[k] == i;
            if (reduced) k++;
            if (!reduced) strides[i] = gStrides[j++];
            else if (keepDim) j++;
        }
        Tensor out = g.share(inShape, strides, g.view.offset());
        return Autograd.record("expand", out, g, gg -> new Tensor[] {sum(gg, axes, keepDim)});
    }

    private static DType sumType(DType dt) {
        return dt == DType.BOOL || dt == DType.INT32 ? DType.INT64 : (dt.isComputeType() ? dt : DType.FLOAT32);
    }

    static Tensor sum(Tensor x, int[] dims, boolean keepDim) {
        int[] axes = Shapes.axes("sum", dims, x.dim());
        int[] inShape = x.view.shape(); // views never modify their shape arrays
        Tensor out = reduce("sum", ReduceOp.SUM, x, axes, keepDim, sumType(x.dtype()));
        return Autograd.record("sum", out, x, g -> new Tensor[] {expandBack(g, inShape, axes, keepDim)});
    }

    static Tensor mean(Tensor x, int[] dims, boolean keepDim) {
        int[] axes = Shapes.axes("mean", dims, x.dim());
        long n = 1;
        for (int a : axes) n *= x.shape()[a];
        if (!x.dtype().isFloatingPoint())
            throw new IllegalArgumentException("mean: needs a floating-point tensor, got " + Elementwise.describe(x) + "; convert with to(DType.FLOAT32)");
        try (Tensor s = sum(x, dims, keepDim)) {
            return s.div((double) n);
        }
    }

    static Tensor prod(Tensor x, int[] dims, boolean keepDim) {
        int[] axes = Shapes.axes("prod", dims, x.dim());
        int[] inShape = x.shape();
        Tensor out = reduce("prod", ReduceOp.PROD, x, axes, keepDim, sumType(x.dtype()));
        // d prod / d x_i = prod / x_i; exact where no zero sits in the reduced slice.
        return Autograd.record("prod", out, x, g -> new Tensor[] {
                expandBack(g.mul(out), inShape, axes, keepDim).div(x)}, out);
    }

    static Tensor var(Tensor x, int[] dims, int correction, boolean keepDim) {
        int[] axes = Shapes.axes("var", dims, x.dim());
        long n = 1;
        for (int a : axes) n *= x.shape()[a];
        try (Scope s = Scope.open()) {
            Tensor centered = x.sub(mean(x, axes, true));
            Tensor ss = sum(centered.square(), axes, keepDim);
            return s.keep(ss.div(Math.max(0, n - correction)));
        }
    }

    /**
     * The largest (or smallest) element. Unlike {@code amax} over named dimensions, which gives the identity
     * (-inf / +inf) over an empty set as ONNX does, an empty tensor has no largest element: refused, as PyTorch does.
     */
    static Tensor maxOfAll(Tensor x, boolean max) {
        String name = max ? "max" : "min";
        x.checkOpen(name);
        if (x.numel() == 0)
            throw new IllegalArgumentException(name + ": tensor of shape " + Shapes.str(x.view.shape()) + " (" + x.dtype() + " on " + x.device()
                    + ") is empty and has no " + (max ? "largest" : "smallest") + " element; use amax/amin over a dimension for the identity");
        return max ? amax(x, null, false) : amin(x, null, false);
    }

    static Tensor amax(Tensor x, int[] dims, boolean keepDim) { return extremum("amax", ReduceOp.MAX, x, dims, keepDim); }

    static Tensor amin(Tensor x, int[] dims, boolean keepDim) { return extremum("amin", ReduceOp.MIN, x, dims, keepDim); }

    private static Tensor extremum(String name, ReduceOp op, Tensor x, int[] dims, boolean keepDim) {
        int[] axes = Shapes.axes(name, dims, x.dim());
        // Over an empty set a floating max is -inf and a min +inf (the identities, as in ONNX); integers have none.
        for (int a : axes)
            if (x.shape()[a] == 0 && !x.dtype().isFloatingPoint())
                throw new IllegalArgumentException(name + ": cannot reduce " + x.dtype() + " over an empty dimension " + a + " of shape " + Shapes.str(x.shape()));
        int[] inShape = x.shape();
        Tensor out = reduce(name, op, x, axes, keepDim, x.dtype());
        return Autograd.record(name, out, x, g -> {
            // Ties share the gradient evenly.
            Tensor hit = x.eq(expandBack(out, inShape, axes, keepDim)).to(g.dtype());
            Tensor count = sum(hit, axes, true);
            return new Tensor[] {hit.div(count).mul(expandBack(g, inShape, axes, keepDim))};
        }, out);
    }

    static Tensor argReduce(Tensor x, int dim, boolean keepDim, boolean max) {
        String name = max ? "argmax" : "argmin";
        x.checkOpen(name);
        int d = Shapes.axis(name, dim, x.dim());
        if (x.dim() > 0 && x.shape()[d] == 0)
            throw new IllegalArgumentException(name + ": cannot reduce over an empty dimension " + d + " of shape " + Shapes.str(x.shape()));
        if (x.dim() == 0) return Tensor.zeros(DType.INT64, x.device());
        int[] axis = {d};
        int[] kept = Shapes.keepDimShape(x.view.shape(), axis);
        Tensor out = reducedOutput(x, DType.INT64, kept, axis, keepDim);
        if (out.numel() > 0) x.backend().argReduce(max ? ArgReduceOp.ARGMAX : ArgReduceOp.ARGMIN, x.view, d, keptView(out, kept));
        Reference.reachabilityFence(x);
        return out;
    }

    static Tensor.ValuesIndices maxWithIndices(Tensor x, int dim, boolean keepDim, boolean max) {
        int d = Shapes.axis(max ? "max" : "min", dim, x.dim());
        Tensor idx = argReduce(x, d, true, max);
        Tensor values = x.gather(d, idx);
        if (!keepDim) {
            try (Tensor v = values; Tensor i = idx) {
                return new Tensor.ValuesIndices(v.squeeze(d), i.squeeze(d));
            }
        }
        return new Tensor.ValuesIndices(values, idx);
    }

    static Tensor logsumexp(Tensor x, int[] dims, boolean keepDim) {
        int[] axes = Shapes.axes("logsumexp", dims, x.dim());
        try (Scope s = Scope.open()) {
            // Shift by the (constant) max for stability; infinities shift by 0.
            Tensor m = amax(x.detach(), axes, true);
            m = Tensor.where(m.isNan().logicalOr(m.abs().eq(Double.POSITIVE_INFINITY)), Tensor.zerosLike(m), m);
            Tensor lse = sum(x.sub(m).exp(), axes, true).log().add(m);
            return s.keep(keepDim ? lse : lse.reshape(Shapes.dropAxes(lse.shape(), axes)));
        }
    }

    static Tensor softmax(Tensor x, int dim, boolean log) {
        return Autocast.float32(x, v -> softmaxOf(v, dim, log));
    }

    private static Tensor softmaxOf(Tensor x, int dim, boolean log) {
        String name = log ? "log_softmax" : "softmax";
        x.checkOpen(name);
        if (!x.dtype().isFloatingPoint())
            throw new IllegalArgumentException(name + ": needs a floating-point tensor, got " + Elementwise.describe(x));
        if (x.dim() == 0) {
            try (Tensor one = x.unsqueeze(0)) {
                Tensor r = softmaxOf(one, 0, log);
                try (r) {
                    return r.squeeze(0);
                }
            }
        }
        int d = Shapes.axis(name, dim, x.dim());
        if (!x.dtype().isComputeType()) return Elementwise.inFloat32(x.dtype(), () -> softmaxOf(x.to(DType.FLOAT32), d, log));
        Tensor out = Tensor.allocate(x.backend(), x.dtype(), x.shape());
        if (out.numel() > 0) x.backend().softmax(x.view, d, log, out.view);
        Reference.reachabilityFence(new Object[] {x, out});
        int[] axis = {d};
        if (log) {
            return Autograd.record(name, out, x, g -> new Tensor[] {g.sub(out.exp().mul(sum(g, axis, true)))}, out);
        }
        return Autograd.record(name, out, x, g -> new Tensor[] {out.mul(g.sub(sum(g.mul(out), axis, true)))}, out);
    }
}
