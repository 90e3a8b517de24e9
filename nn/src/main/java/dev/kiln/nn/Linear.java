package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;

/** {@code y = x W^T + b} over the last dimension, W of shape (out, in). */
public final class Linear extends Module {
    private final int inFeatures;
    private final int outFeatures;

    /**
     * {@code y = x W^T + b}, initialised as PyTorch does.
     *
     * @param inFeatures the input features
     * @param outFeatures the output features
     */
    public Linear(int inFeatures, int outFeatures) { this(inFeatures, outFeatures, true); }

    /**
     * {@code y = x W^T (+ b)}, initialised as PyTorch does.
     *
     * @param inFeatures the input features
     * @param outFeatures the output features
     * @param bias whether to learn a bias
     */
    public Linear(int inFeatures, int outFeatures, boolean bias) {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new IllegalArgumentException("Linear: feature counts must be positive, got in=" + inFeatures + " out=" + outFeatures);
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        registerParameter("weight", Init.fanInUniform(inFeatures, outFeatures, inFeatures));
        if (bias) registerParameter("bias", Init.fanInUniform(inFeatures, outFeatures));
    }

    /**
     * {@return the weight (out, in)}
     */
    public Tensor weight() { return param("weight"); }

    /**
     * The bias, or null when built without one.
     *
     * @return the bias (out), or null
     */
    public Tensor bias() { return optionalParam("bias"); }

    @Override
    public Tensor forward(Tensor input) { return Functional.linear(input, weight(), bias()); }

    @Override
    protected String describe() { return "Linear(" + inFeatures + ", " + outFeatures + (bias() == null ? ", bias=false" : "") + ")"; }
}
