package dev.kiln;

import dev.kiln.autograd.GradMode;

import java.util.Arrays;
import java.lang.ref.Reference;

/** Matrix products with PyTorch's broadcasting rules, and their gradients. */
final class LinearAlgebra {
    private LinearAlgebra() {}

    static Tensor matmul(Tensor a, Tensor b) {
        Elementwise.sameDevice("matmul", a, b);
        return Autocast.lowerPrecision(xs -> product(xs[0], xs[1]), a, b);
    }

    private static Tensor product(Tensor a, Tensor b) {
        if (a.dim() == 0 || b.dim() == 0)
            throw new IllegalArgumentException("matmul: both arguments need at least one dimension, got " + Elementwise.describe(a) + " and " + Elementwise.describe(b));
        if (!a.dtype().isFloatingPoint() || a.dtype() != b.dtype())
            throw new IllegalArgumentException("matmul: expected two tensors of one floating dtype, got " + Elementwise.describe(a) + " and " + Elementwise.describe(b));
        if (!a.dtype().isComputeType() && !a.backend().computesHalf("matmul", a.dtype()))
            return Elementwise.inFloat32(a.dtype(), () -> product(a.to(DType.FLOAT32), b.to(DType.FLOAT32)));
        boolean vecA = a.dim() == 1, vecB = b.dim() == 1;
        if (!vecA && !vecB) return batched(a, b);
        try (Scope s = Scope.open()) {
            Tensor out = batched(vecA ? a.unsqueeze(0) : a, vecB ? b.unsqueeze(1) : b);
            if (vecB) out = out.squeeze(-1);
            if (vecA) out = out.squeeze(vecB ? -1 : -2);
            return s.keep(out);
        }
    }

    private static Tensor batched(Tensor a, Tensor b) {
        int[] as = a.shape(), bs = b.shape();
        int m = as[as.length - 2], k = as[as.length - 1], k2 = bs[bs.length - 2], n = bs[bs.length - 1];
        if (k != k2)
            throw new IllegalArgumentException("matmul: shapes " + Shapes.str(as) + " and " + Shapes.str(bs) + " cannot be multiplied ("
                    + m + "x" + k + " and " + k2 + "x" + n + ")");
        if (bs.length == 2 && as.length > 2 && a.numel() > 0 && a.numel() / k <= Integer.MAX_VALUE
                && ViewOps.viewStrides(as, a.view.strides(), new int[] {(int) (a.numel() / k), k}) != null)
            return rowsTimesMatrix(a, b);
        int[] batch = Shapes.broadcast("matmul", Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2));
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out = Tensor.allocate(a.backend(), a.dtype(), outShape);
        if (out.numel() > 0) {
            if (k == 0) {
                a.backend().fill(out.view, 0);
                Reference.reachabilityFence(out);
            } else {
                a.backend().matmul(Elementwise.expanded(a, withLast(batch, m, k)), Elementwise.expanded(b, withLast(batch, k, n)), out.view);
                Reference.reachabilityFence(new Object[] {out, a, b});
            }
        }
        return Autograd.record("matmul", out, new Tensor[] {a, b}, g -> new Tensor[] {
                a.requiresGrad() ? ViewOps.sumTo(g.matmul(b.mT()), as) : null,
                b.requiresGrad() ? ViewOps.sumTo(a.mT().matmul(g), bs) : null});
    }

    /**
     * A stack of matrices times one matrix, (..., m, k) @ (k, n), as the single product (rows, k) @ (k, n) over all
     * rows of the stack, when the stack's rows are a view (no copy). Its gradient for the matrix is then one product
     * summing over every row, where the batched form computed a product per batch entry and summed those (the LSTM's
     * input projection and every Linear on a 3-D input: an LSTM step spent a third of its time there).
     */
    private static Tensor rowsTimesMatrix(Tensor a, Tensor b) {
        int[] as = a.shape(), outShape = as.clone();
        outShape[as.length - 1] = b.size(1);
        try (Scope s = Scope.open()) {
            return s.keep(a.reshape(-1, as[as.length - 1]).matmul(b).reshape(outShape));
        }
    }

    private static int[] withLast(int[] batch, int r, int c) {
        int[] s = Arrays.copyOf(batch, batch.length + 2);
        s[batch.length] = r;
        s[batch.length + 1] = c;
        return s;
    }

    /** {@code x @ weight^T + bias}, weight (out, in) as in PyTorch's Linear. */
    static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        return Autocast.lowerPrecision(xs -> affine(xs[0], xs[1], xs[2]), x, weight, bias);
    }

    private static Tensor affine(Tensor x, Tensor weight, Tensor bias) {
        if (weight.dim() != 2 || x.dim() < 1 || x.size(-1) != weight.size(1))
            throw new IllegalArgumentException("linear: input " + Elementwise.describe(x) + " does not match weight " + Elementwise.describe(weight)
                    + " (expected input [..., " + (weight.dim() == 2 ? weight.size(1) : "?") + "] and weight [out, in])");
        if (bias != null && (bias.dim() != 1 || bias.size(0) != weight.size(0)))
            throw new IllegalArgumentException("linear: bias " + Elementwise.describe(bias) + " does not match weight " + Elementwise.describe(weight));
        Tensor product;
        try (GradMode off = GradMode.noGrad(); Tensor wt = weight.t()) {
            product = x.matmul(wt);
        }
        // One node for x @ weight^T, as PyTorch's linear: the weight's gradient is g^T @ x over all rows, made in the
        // weight's own layout, so the weight can take it as its gradient. Through matmul's rule it was x^T @ g, the
        // gradient of the transposed view, and every step copied each weight's gradient into place.
        Tensor y = Autograd.record("linear", product, new Tensor[] {x, weight}, g -> new Tensor[] {
                x.requiresGrad() ? g.matmul(weight) : null,
                weight.requiresGrad() ? rows(g).mT().matmul(rows(x)) : null});
        if (bias == null) return y;
        try (y) {
            return Elementwise.addInOwnType(y, bias);
        }
    }

    /** t as a matrix of rows: (..., n) -> (rows, n), a view where the layout allows. */
    private static Tensor rows(Tensor t) { return t.reshape(-1, t.size(-1)); }
}
