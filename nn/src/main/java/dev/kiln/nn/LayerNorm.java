package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;

/** Layer normalisation over the trailing dimensions {@code normalizedShape}, with elementwise scale and shift. */
public final class LayerNorm extends Module {
    private final int[] normalizedShape;
    private final double eps;

    /**
     * Normalisation over the last dimensions, eps 1e-5, with a learned scale and bias.
     *
     * @param normalizedShape the sizes of the last dimensions normalised over
     */
    public LayerNorm(int... normalizedShape) { this(normalizedShape, 1e-5, true); }

    /**
     * Normalisation with the given epsilon, with or without a learned scale and bias.
     *
     * @param normalizedShape the sizes of the last dimensions normalised over
     * @param eps added to the variance
     * @param elementwiseAffine whether to learn a scale and bias
     */
    public LayerNorm(int[] normalizedShape, double eps, boolean elementwiseAffine) { this(normalizedShape, eps, elementwiseAffine, true); }

    /**
     * {@code bias}: whether the affine part has a shift (PyTorch's {@code bias}); it has none without elementwiseAffine.
     *
     * @param normalizedShape the sizes of the last dimensions normalised over
     * @param eps added to the variance
     * @param elementwiseAffine whether to learn a scale
     * @param bias whether to learn a bias too (with elementwiseAffine)
     */
    public LayerNorm(int[] normalizedShape, double eps, boolean elementwiseAffine, boolean bias) {
        this.normalizedShape = normalizedShape.clone();
        this.eps = eps;
        if (elementwiseAffine) {
            registerParameter("weight", Tensor.ones(normalizedShape));
            if (bias) registerParameter("bias", Tensor.zeros(normalizedShape));
        }
    }

    @Override
    public Tensor forward(Tensor input) {
        return Functional.layerNorm(input, normalizedShape, optionalParam("weight"), optionalParam("bias"), eps);
    }

    @Override
    protected String describe() { return "LayerNorm(" + java.util.Arrays.toString(normalizedShape) + ", eps=" + eps + ")"; }
}
