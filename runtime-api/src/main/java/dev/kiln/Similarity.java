package dev.kiln;

/** {@code normalize} and {@code cosine_similarity}, composed from the differentiable vector norm. */
final class Similarity {
    private Similarity() {}

    /** {@code x / max(||x||_p, eps)} along {@code dim}. */
    static Tensor normalize(Tensor x, double p, int dim, double eps) {
        x.checkOpen("normalize");
        if (!x.dtype().isFloatingPoint())
            throw new IllegalArgumentException("normalize: expected a floating input, got " + Elementwise.describe(x));
        int axis = Shapes.axis("normalize", dim, x.dim());
        try (Tensor norm = x.norm(p, new int[] {axis}, true); Tensor clamped = norm.clamp(eps, Double.POSITIVE_INFINITY)) {
            return x.div(clamped);
        }
    }

    /**
     * {@code sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps))} along {@code dim}, after broadcasting the two
     * (PyTorch's definition since 1.12: each vector is normalised before the product).
     */
    static Tensor cosineSimilarity(Tensor x1, Tensor x2, int dim, double eps) {
        x1.checkOpen("cosine_similarity");
        x2.checkOpen("cosine_similarity");
        Elementwise.sameDevice("cosine_similarity", x1, x2);
        int[] shape = Shapes.broadcast("cosine_similarity", x1.shape(), x2.shape());
        int axis = Shapes.axis("cosine_similarity", dim, shape.length);
        try (Scope scope = Scope.open()) {
            Tensor a = normalize(x1.broadcastTo(shape), 2, axis, eps), b = normalize(x2.broadcastTo(shape), 2, axis, eps);
            return scope.keep(a.mul(b).sum(new int[] {axis}, false));
        }
    }
}
