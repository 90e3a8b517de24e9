package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;

/** A lookup table: integer indices of any shape to rows of a (numEmbeddings, dim) weight, initialised N(0, 1). */
public final class Embedding extends Module {
    private final int numEmbeddings;
    private final int dim;

    /**
     * A table of {@code numEmbeddings} vectors of size {@code dim}, drawn from N(0, 1).
     *
     * @param numEmbeddings the number of rows (the largest index plus one)
     * @param dim the size of each vector
     */
    public Embedding(int numEmbeddings, int dim) {
        if (numEmbeddings <= 0 || dim <= 0)
            throw new IllegalArgumentException("Embedding: sizes must be positive, got numEmbeddings=" + numEmbeddings + " dim=" + dim);
        this.numEmbeddings = numEmbeddings;
        this.dim = dim;
        registerParameter("weight", Tensor.randn(numEmbeddings, dim));
    }

    /**
     * {@return the table (numEmbeddings, dim)}
     */
    public Tensor weight() { return param("weight"); }

    @Override
    public Tensor forward(Tensor indices) { return Functional.embedding(indices, weight()); }

    @Override
    protected String describe() { return "Embedding(" + numEmbeddings + ", " + dim + ")"; }
}
