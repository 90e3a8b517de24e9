package dev.kiln;

import dev.kiln.backend.Backend;

/**
 * Order statistics and scans: sort, argsort, topk, cumsum. All run on the tensor's device through the backend's
 * {@code sort} and {@code cumsum} entry points (whose defaults compose primitives), never through the host.
 */
final class Sorting {
    private Sorting() {}

    /** Values and int64 indices sorted along dim; stable; NaN largest. The values' gradient flows back through the indices. */
    static Tensor.ValuesIndices sort(Tensor x, int dim, boolean descending) {
        x.checkOpen("sort");
        if (x.dim() == 0) return new Tensor.ValuesIndices(x.clone(), Tensor.zeros(DType.INT64, x.device()));
        int d = Shapes.axis("sort", dim, x.dim());
        if (x.dtype() == DType.BOOL)
            throw new IllegalArgumentException("sort: bool tensors have no order here; convert " + Elementwise.describe(x) + " to an integer type first");
        Tensor values = Tensor.allocate(x.backend(), x.dtype(), x.view.shape());
        Tensor indices = Tensor.allocate(x.backend(), DType.INT64, x.view.shape());
        if (x.numel() > 0) x.backend().sort(x.view, d, descending, values.view, indices.view);
        int[] shape = x.shape();
        Autograd.record("sort", values, x, g -> new Tensor[] {Tensor.zeros(g.dtype(), g.device(), shape).scatterAdd(d, indices, g)}, indices);
        return new Tensor.ValuesIndices(values, indices);
    }

    static Tensor argsort(Tensor x, int dim, boolean descending) {
        Tensor.ValuesIndices s;
        try (dev.kiln.autograd.GradMode ignored = dev.kiln.autograd.GradMode.noGrad()) {
            s = sort(x, dim, descending);
        }
        s.values().close();
        return s.indices();
    }

    /** The k largest (or smallest) along dim with their indices, in sorted order; ties keep index order. */
    static Tensor.ValuesIndices topk(Tensor x, int k, int dim, boolean largest) {
        int d = x.dim() == 0 ? 0 : Shapes.axis("topk", dim, x.dim());
        int n = x.dim() == 0 ? 1 : x.shape()[d];
        if (k < 0 || k > n)
            throw new IllegalArgumentException("topk: k = " + k + " is out of range for dimension " + d + " of size " + n + " in " + Elementwise.describe(x));
        Tensor.ValuesIndices s = sort(x, d, largest);
        if (x.dim() == 0) return s;
        try (Tensor v = s.values(); Tensor i = s.indices()) {
            return new Tensor.ValuesIndices(v.narrow(d, 0, k), i.narrow(d, 0, k));
        }
    }

    /** Inclusive prefix sum along dim; integer and bool inputs sum as int64, as in PyTorch. Gradient: reverse cumsum. */
    static Tensor cumsum(Tensor x, int dim) {
        x.checkOpen("cumsum");
        if (x.dim() == 0) return x.clone();
        int d = Shapes.axis("cumsum", dim, x.dim());
        if (!x.dtype().isFloatingPoint() && x.dtype() != DType.INT64) {
            try (Tensor wide = x.to(DType.INT64)) {
                return cumsum(wide, d);
            }
        }
        Backend be = x.backend();
        Tensor out = Tensor.allocate(be, x.dtype(), x.view.shape());
        if (out.numel() > 0) be.cumsum(x.view, d, out.view);
        return Autograd.record("cumsum", out, x, g -> new Tensor[] {flip(cumsum(flip(g, d), d), d)});
    }

    /** Reverses the order along each of dims (a copy, as in PyTorch); differentiable. */
    static Tensor flip(Tensor x, int... dims) {
        int[] axes = dims.length == 0 ? new int[0] : Shapes.axes("flip", dims, x.dim());
        Tensor out = x;
        for (int a : axes) {
            int n = x.shape()[a];
            try (Tensor reversed = Tensor.arange(n - 1, -1, -1, DType.INT64, x.device())) {
                Tensor next = out.indexSelect(a, reversed);
                if (out != x) out.close();
                out = next;
            }
        }
        return out == x ? x.clone() : out;
    }
}
