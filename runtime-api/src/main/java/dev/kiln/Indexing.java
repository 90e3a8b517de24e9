package dev.kiln;

import java.lang.ref.Reference;

/**
 * Gather, scatter and index selection. Index bounds are checked by the backend ({@link dev.kiln.backend.Backend#checkIndex})
 * before the indexing kernel is issued: on the CPU at once, on a device at the latest at its next synchronisation
 * point, so a training step never waits for the check.
 */
final class Indexing {
    private Indexing() {}

    private static void checkIndex(String op, Tensor index, long bound, Tensor x) {
        if (index.dtype() != DType.INT64 && index.dtype() != DType.INT32)
            throw new IllegalArgumentException(op + ": index must be int64 or int32, got " + Elementwise.describe(index));
        Elementwise.sameDevice(op, x, index);
        if (index.numel() > 0) x.backend().checkIndex(op, index.view, bound);
    }

    static Tensor gather(Tensor x, int dim, Tensor index) {
        int d = Shapes.axis("gather", dim, x.dim());
        if (index.dim() != x.dim())
            throw new IllegalArgumentException("gather: index " + Elementwise.describe(index) + " must have the rank of input " + Elementwise.describe(x));
        for (int i = 0; i < x.dim(); i++)
            if (i != d && index.shape()[i] > x.shape()[i])
                throw new IllegalArgumentException("gather: index " + Shapes.str(index.shape()) + " is larger than input " + Shapes.str(x.shape())
                        + " in dimension " + i);
        checkIndex("gather", index, x.dim() == 0 ? 1 : x.shape()[d], x);
        return gatherChecked(x, d, index);
    }

    static Tensor scatterAdd(Tensor x, int dim, Tensor index, Tensor src) {
        int d = Shapes.axis("scatter_add", dim, x.dim());
        if (index.dim() != x.dim() || src.dim() != x.dim())
            throw new IllegalArgumentException("scatter_add: input " + Elementwise.describe(x) + ", index " + Elementwise.describe(index)
                    + " and src " + Elementwise.describe(src) + " must have one rank");
        for (int i = 0; i < x.dim(); i++)
            if (index.shape()[i] > src.shape()[i] || (i != d && index.shape()[i] > x.shape()[i]))
                throw new IllegalArgumentException("scatter_add: index " + Shapes.str(index.shape()) + " exceeds src " + Shapes.str(src.shape())
                        + " or input " + Shapes.str(x.shape()) + " in dimension " + i);
        if (src.dtype() != x.dtype())
            throw new IllegalArgumentException("scatter_add: src " + Elementwise.describe(src) + " must have the dtype of input " + Elementwise.describe(x));
        checkIndex("scatter_add", index, x.shape()[d], x);
        Tensor out = Tensor.allocate(x.backend(), x.dtype(), x.shape());
        if (out.numel() > 0) x.backend().copy(x.view, out.view);
        Determinism.check("scatter_add", x.backend(), "scatterAdd");
        Reference.reachabilityFence(new Object[] {x, out});
        if (index.numel() > 0) x.backend().scatterAdd(out.view, d, index.view, src.view);
        Reference.reachabilityFence(new Object[] {out, index, src});
        return Autograd.record("scatter_add", out, new Tensor[] {x, index, src},
                g -> new Tensor[] {g, null, gatherChecked(g, d, index)});
    }

    /**
     * Gather with an index already checked against x's dimension d (and of x's rank, no larger elsewhere):
     * scatter_add's backward and the losses, which checked their targets, reuse that check.
     */
    static Tensor gatherChecked(Tensor x, int d, Tensor index) {
        Tensor out = Tensor.allocate(x.backend(), x.dtype(), index.shape());
        if (out.numel() > 0) x.backend().gather(x.view, d, index.view, out.view);
        Reference.reachabilityFence(new Object[] {x, index, out});
        int[] inShape = x.shape();
        return Autograd.record("gather", out, new Tensor[] {x, index}, g -> {
            Tensor gx = Tensor.zeros(g.dtype(), g.device(), inShape);
            Determinism.check("gather backward", g.backend(), "scatterAdd");
            g.backend().scatterAdd(gx.view, d, index.view, g.view);
            Reference.reachabilityFence(new Object[] {gx, index, g});
            return new Tensor[] {gx, null};
        });
    }

    static Tensor indexSelect(Tensor x, int dim, Tensor index) {
        int d = Shapes.axis("index_select", dim, x.dim());
        if (index.dim() > 1)
            throw new IllegalArgumentException("index_select: index must be 0-D or 1-D, got " + Elementwise.describe(index));
        checkIndex("index_select", index, x.shape()[d], x);
        int[] shape = x.shape();
        shape[d] = (int) index.numel();
        Tensor idx = index.dim() == 0 ? index.reshape(1) : index;
        Tensor out = Tensor.allocate(x.backend(), x.dtype(), shape);
        if (out.numel() > 0) x.backend().indexSelect(x.view, d, idx.view, out.view);
        Reference.reachabilityFence(new Object[] {x, idx, out});
        int[] inShape = x.shape();
        return Autograd.record("index_select", out, new Tensor[] {x, idx}, g -> {
            Tensor gx = Tensor.zeros(g.dtype(), g.device(), inShape);
            Determinism.check("index_select backward", g.backend(), "indexAdd");
            g.backend().indexAdd(gx.view, d, idx.view, g.view);
            Reference.reachabilityFence(new Object[] {gx, idx, g});
            return new Tensor[] {gx, null};
        });
    }

    static Tensor oneHot(Tensor index, int numClasses) {
        if (index.dtype() != DType.INT64 && index.dtype() != DType.INT32)
            throw new IllegalArgumentException("one_hot: expected an integer tensor, got " + Elementwise.describe(index));
        if (numClasses <= 0) throw new IllegalArgumentException("one_hot: numClasses must be positive, got " + numClasses);
        checkIndex("one_hot", index, numClasses, index);
        try (Tensor classes = Tensor.arange(0, numClasses, 1, index.dtype(), index.device());
             Tensor col = index.unsqueeze(-1);
             Tensor hit = col.eq(classes)) {
            return hit.to(DType.INT64);
        }
    }

    /**
     * PyTorch's {@code embedding} options. With {@code maxNorm}, the rows that {@code indices} picks and whose
     * {@code normType}-norm exceeds it are first scaled in place, outside autograd, to norm {@code maxNorm} (as
     * PyTorch does, by {@code maxNorm / (norm + 1e-7)}). With {@code paddingIdx} (negative counts from the end),
     * the looked-up rows at that index pass no gradient back to the weight; the row's value is looked up as any other.
     */
    static Tensor embedding(Tensor indices, Tensor weight, Integer paddingIdx, Double maxNorm, double normType) {
        if (weight.dim() != 2)
            throw new IllegalArgumentException("embedding: weight must be 2-D (num_embeddings, dim), got " + Elementwise.describe(weight));
        int rows = weight.size(0);
        if (paddingIdx != null && (paddingIdx >= rows || paddingIdx < -rows))
            throw new IllegalArgumentException("embedding: padding_idx " + paddingIdx + " is outside the " + rows + " rows of weight " + Elementwise.describe(weight));
        if (maxNorm != null && !(maxNorm > 0))
            throw new IllegalArgumentException("embedding: max_norm must be positive, got " + maxNorm);
        try (Scope scope = Scope.open()) {
            Tensor flat = indices.reshape(-1);
            if (maxNorm != null) renormRows(weight, flat, maxNorm, normType);
            Tensor out = embedding(indices, weight);
            if (paddingIdx == null || !out.requiresGrad()) return scope.keep(out);
            int padding = paddingIdx < 0 ? paddingIdx + rows : paddingIdx;
            Tensor isPadding = indices.eq(padding).unsqueeze(-1);
            return scope.keep(Tensor.where(isPadding, out.detach(), out));
        }
    }

    /** Scales the rows of {@code weight} that {@code flat} names and whose norm exceeds {@code maxNorm}, in place. */
    private static void renormRows(Tensor weight, Tensor flat, double maxNorm, double normType) {
        try (dev.kiln.autograd.GradMode ignored = dev.kiln.autograd.GradMode.noGrad(); Scope scope = Scope.open()) {
            checkIndex("embedding", flat, weight.size(0), weight);
            Tensor counts = Tensor.zeros(weight.dtype(), weight.device(), weight.size(0));
            Tensor picked = counts.scatterAdd(0, flat, Tensor.ones(weight.dtype(), weight.device(), flat.size(0))).gt(0);
            Tensor norms = weight.norm(normType, new int[] {1}, false);
            Tensor scale = Tensor.where(picked.logicalAnd(norms.gt(maxNorm)), norms.add(1e-7).reciprocal().mul(maxNorm), Tensor.onesLike(norms));
            weight.mul_(scale.unsqueeze(1));
        }
    }

    /** Rows of {@code weight} picked by integer {@code indices}: output shape indices.shape + [dim]. */
    static Tensor embedding(Tensor indices, Tensor weight) {
        if (weight.dim() != 2)
            throw new IllegalArgumentException("embedding: weight must be 2-D (num_embeddings, dim), got " + Elementwise.describe(weight));
        int[] shape = java.util.Arrays.copyOf(indices.shape(), indices.dim() + 1);
        shape[indices.dim()] = weight.size(1);
        try (Tensor flat = indices.reshape(-1); Tensor rows = indexSelect(weight, 0, flat)) {
            return rows.reshape(shape);
        }
    }
}
