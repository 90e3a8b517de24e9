package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;

/**
 * A lookup table: integer indices of any shape to rows of a (numEmbeddings, dim) weight, initialised N(0, 1), with
 * PyTorch's {@code padding_idx} (that row starts at zero and receives no gradient) and {@code max_norm} (looked-up
 * rows longer than it are renormalised in place) options.
 */
public final class Embedding extends Module {
    private final int numEmbeddings;
    private final int dim;
    private final Integer paddingIdx;
    private final Double maxNorm;

    /**
     * A table of {@code numEmbeddings} vectors of size {@code dim}, drawn from N(0, 1).
     *
     * @param numEmbeddings the number of rows (the largest index plus one)
     * @param dim the size of each vector
     */
    public Embedding(int numEmbeddings, int dim) { this(numEmbeddings, dim, null, null); }

    /**
     * A table with PyTorch's {@code padding_idx} and {@code max_norm} (2-norm) options.
     *
     * @param numEmbeddings the number of rows (the largest index plus one)
     * @param dim the size of each vector
     * @param paddingIdx the row that starts at zero and receives no gradient (negative: from the end), or null
     * @param maxNorm the largest norm of a looked-up row (longer ones are renormalised in place), or null
     * @throws IllegalArgumentException if a size is not positive, paddingIdx is outside the table or maxNorm is not positive
     */
    public Embedding(int numEmbeddings, int dim, Integer paddingIdx, Double maxNorm) {
        if (numEmbeddings <= 0 || dim <= 0)
            throw new IllegalArgumentException("Embedding: sizes must be positive, got numEmbeddings=" + numEmbeddings + " dim=" + dim);
        if (paddingIdx != null && (paddingIdx >= numEmbeddings || paddingIdx < -numEmbeddings))
            throw new IllegalArgumentException("Embedding: padding_idx " + paddingIdx + " is outside the " + numEmbeddings + " rows");
        if (maxNorm != null && !(maxNorm > 0)) throw new IllegalArgumentException("Embedding: max_norm must be positive, got " + maxNorm);
        this.numEmbeddings = numEmbeddings;
        this.dim = dim;
        this.paddingIdx = paddingIdx == null || paddingIdx >= 0 ? paddingIdx : Integer.valueOf(paddingIdx + numEmbeddings);
        this.maxNorm = maxNorm;
        Tensor weight = registerParameter("weight", Tensor.randn(numEmbeddings, dim));
        if (this.paddingIdx != null) {
            try (GradMode ignored = GradMode.noGrad(); Tensor row = weight.select(0, this.paddingIdx)) {
                row.zero_();
            }
        }
    }

    /**
     * {@return the table (numEmbeddings, dim)}
     */
    public Tensor weight() { return param("weight"); }

    @Override
    public Tensor forward(Tensor indices) {
        return paddingIdx == null && maxNorm == null ? Functional.embedding(indices, weight()) : Functional.embedding(indices, weight(), paddingIdx, maxNorm, 2);
    }

    @Override
    protected String describe() {
        return "Embedding(" + numEmbeddings + ", " + dim + (paddingIdx != null ? ", padding_idx=" + paddingIdx : "") + (maxNorm != null ? ", max_norm=" + maxNorm : "") + ")";
    }
}
