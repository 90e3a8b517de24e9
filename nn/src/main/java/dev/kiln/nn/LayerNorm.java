package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;

/** Layer normalisation over the trailing dimensions {@code normalizedShape}, with elementwise scale and shift. */
public final class LayerNorm extends Module {
    private final int[] normalizedShape;
    private final double eps;

    public LayerNorm(int... normalizedShape) { this(normalizedShape, 1e-5, true); }

    public LayerNorm(int[] normalizedShape, double eps, boolean elementwiseAffine) { this(normalizedShape, eps, elementwiseAffine, true); }

    /** {@code bias}: whether the affine part has a shift (PyTorch's {@code bias}); it has none without elementwiseAffine. */
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
