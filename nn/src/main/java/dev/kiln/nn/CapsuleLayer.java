package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

/**
 * A capsule layer with dynamic routing (Sabour, Frosst and Hinton, 2017): input capsules u (B, inCaps, inDim)
 * vote {@code u_hat = W_ij u_i} for each output capsule; for {@code iterations} rounds the coupling
 * coefficients {@code c = softmax_j(b)} weigh the votes into {@code s_j}, {@code v_j = squash(s_j)}, and the
 * logits grow by the agreement {@code u_hat . v_j}. Output (B, outCaps, outDim); capsule lengths are
 * class probabilities.
 */
public final class CapsuleLayer extends Module {
    private final int inCaps;
    private final int inDim;
    private final int outCaps;
    private final int outDim;
    private final int iterations;

    /**
     * A layer from {@code inCaps} capsules of {@code inDim} to {@code outCaps} of {@code outDim}.
     *
     * @param inCaps the input capsules
     * @param inDim the size of each input capsule
     * @param outCaps the output capsules
     * @param outDim the size of each output capsule
     * @param iterations the rounds of routing
     * @throws IllegalArgumentException if a size or the iteration count is not positive
     */
    public CapsuleLayer(int inCaps, int inDim, int outCaps, int outDim, int iterations) {
        if (inCaps <= 0 || inDim <= 0 || outCaps <= 0 || outDim <= 0 || iterations <= 0)
            throw new IllegalArgumentException("CapsuleLayer: sizes and iterations must be positive");
        this.inCaps = inCaps;
        this.inDim = inDim;
        this.outCaps = outCaps;
        this.outDim = outDim;
        this.iterations = iterations;
        registerParameter("weight", Init.normal(0.01, inCaps, outCaps, outDim, inDim));
    }

    /**
     * {@code |s|^2 / (1 + |s|^2) * s / |s|} along the last dimension: short vectors shrink to 0, long ones to length 1.
     *
     * @param s the vectors, along the last dimension
     * @return the squashed vectors, of the same shape
     */
    public static Tensor squash(Tensor s) {
        try (Scope scope = Scope.open()) {
            Tensor n2 = s.square().sum(new int[] {-1}, true);
            return scope.keep(s.mul(n2.div(n2.add(1))).div(n2.add(1e-12).sqrt()));
        }
    }

    @Override
    public Tensor forward(Tensor u) {
        if (u.dim() != 3 || u.size(1) != inCaps || u.size(2) != inDim)
            throw new IllegalArgumentException("CapsuleLayer: expected input (B, " + inCaps + ", " + inDim + "), got " + java.util.Arrays.toString(u.shape()));
        int b = u.size(0);
        try (Scope s = Scope.open()) {
            // (inCaps, outCaps, outDim, inDim) @ (B, inCaps, 1, inDim, 1) -> (B, inCaps, outCaps, outDim)
            Tensor votes = param("weight").matmul(u.reshape(b, inCaps, 1, inDim, 1)).squeeze(4);
            Tensor logits = Tensor.zeros(u.dtype(), u.device(), b, inCaps, outCaps);
            Tensor v = null;
            for (int round = 0; round < iterations; round++) {
                Tensor c = logits.softmax(2).unsqueeze(3);
                v = squash(c.mul(votes).sum(new int[] {1}, false));
                if (round + 1 < iterations) logits = logits.add(votes.mul(v.unsqueeze(1)).sum(new int[] {3}, false));
            }
            return s.keep(v);
        }
    }

    @Override
    protected String describe() { return "CapsuleLayer(" + inCaps + "x" + inDim + " -> " + outCaps + "x" + outDim + ", routing=" + iterations + ")"; }
}
