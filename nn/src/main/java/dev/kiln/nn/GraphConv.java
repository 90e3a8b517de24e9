package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;

/**
 * A graph convolution layer (Kipf and Welling): {@code A_hat X W + b}, where {@code A_hat} is the normalised
 * adjacency {@code D^-1/2 (A + I) D^-1/2} computed once by {@link #normalizedAdjacency}.
 */
public final class GraphConv extends Module {
    private final int inFeatures;
    private final int outFeatures;

    /**
     * A layer from {@code inFeatures} to {@code outFeatures} per node, Xavier-initialised, zero bias.
     *
     * @param inFeatures the features of each input node
     * @param outFeatures the features of each output node
     */
    public GraphConv(int inFeatures, int outFeatures) {
        this(inFeatures, outFeatures, true);
    }

    /**
     * A layer from {@code inFeatures} to {@code outFeatures} per node, Xavier-initialised, with a zero bias or
     * none (Kipf and Welling's reference GCN has none).
     *
     * @param inFeatures the features of each input node
     * @param outFeatures the features of each output node
     * @param bias whether the layer adds a learned bias
     */
    public GraphConv(int inFeatures, int outFeatures, boolean bias) {
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        registerParameter("weight", Init.xavierUniform(inFeatures, outFeatures, outFeatures, inFeatures));
        if (bias) registerParameter("bias", Tensor.zeros(outFeatures));
    }

    /**
     * {@code D^-1/2 (A + I) D^-1/2} of a dense (N, N) adjacency matrix with 0/1 (or weighted) entries.
     *
     * @param adjacency the (N, N) adjacency matrix
     * @return the normalised (N, N) matrix
     * @throws IllegalArgumentException if the matrix is not square
     */
    public static Tensor normalizedAdjacency(Tensor adjacency) {
        if (adjacency.dim() != 2 || adjacency.size(0) != adjacency.size(1))
            throw new IllegalArgumentException("normalizedAdjacency: expected a square (N, N) matrix, got " + java.util.Arrays.toString(adjacency.shape()));
        try (Scope s = Scope.open()) {
            Tensor a = adjacency.add(Tensor.eye(adjacency.size(0), adjacency.dtype(), adjacency.device()));
            Tensor inv = a.sum(1).rsqrt();
            return s.keep(a.mul(inv.unsqueeze(1)).mul(inv.unsqueeze(0)));
        }
    }

    /**
     * {@code x} (N, in) node features and the normalised adjacency (N, N) to (N, out).
     *
     * @param x node features (N, in)
     * @param normalizedAdjacency what {@link #normalizedAdjacency} returned, (N, N)
     * @return the new node features (N, out)
     */
    public Tensor forward(Tensor x, Tensor normalizedAdjacency) {
        try (Scope s = Scope.open()) {
            Tensor out = normalizedAdjacency.matmul(Functional.linear(x, param("weight"), null));
            Tensor bias = optionalParam("bias");
            return s.keep(bias == null ? out : out.add(bias));
        }
    }

    @Override
    protected String describe() { return "GraphConv(" + inFeatures + ", " + outFeatures + (optionalParam("bias") == null ? ", bias=false" : "") + ")"; }
}
