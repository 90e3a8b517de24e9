package dev.kiln;

/**
 * Neural-network functions over tensors, in the spirit of {@code torch.nn.functional}: every one differentiable,
 * every one backend-neutral.
 */
public final class Functional {
    private Functional() {}

    /** {@code x @ weight^T + bias} with weight (out, in); bias may be null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) { return LinearAlgebra.linear(x, weight, bias); }

    /** Rows of {@code weight} (num_embeddings, dim) at integer {@code indices}. */
    public static Tensor embedding(Tensor indices, Tensor weight) { return Indexing.embedding(indices, weight); }
}
