package dev.kiln.nn;

import dev.kiln.Tensor;

import java.util.function.UnaryOperator;

/**
 * Parameter-free elementwise functions as modules, for {@link Sequential}: {@code Activation.relu()},
 * {@code Activation.gelu()}, ... Each is the tensor op of the same name, so its gradient is that op's.
 */
public final class Activation extends Module {
    private final String name;
    private final UnaryOperator<Tensor> fn;

    private Activation(String name, UnaryOperator<Tensor> fn) {
        this.name = name;
        this.fn = fn;
    }

    /**
     * {@code max(0, x)}.
     *
     * @return the module
     */
    public static Activation relu() { return new Activation("ReLU", Tensor::relu); }

    /**
     * {@code x} where positive, else {@code negativeSlope * x}.
     *
     * @param negativeSlope the slope for negative inputs
     * @return the module
     */
    public static Activation leakyRelu(double negativeSlope) { return new Activation("LeakyReLU(" + negativeSlope + ")", x -> x.leakyRelu(negativeSlope)); }

    /**
     * {@code x} where positive, else {@code alpha (exp(x) - 1)}.
     *
     * @param alpha the scale of the negative part
     * @return the module
     */
    public static Activation elu(double alpha) { return new Activation("ELU(" + alpha + ")", x -> x.elu(alpha)); }

    /**
     * GELU with the exact (erf) form.
     *
     * @return the module
     */
    public static Activation gelu() { return new Activation("GELU", Tensor::gelu); }

    /**
     * GELU with the tanh approximation (PyTorch's {@code approximate='tanh'}).
     *
     * @return the module
     */
    public static Activation geluTanh() { return new Activation("GELU(tanh)", x -> x.gelu(true)); }

    /**
     * {@code x * sigmoid(x)}.
     *
     * @return the module
     */
    public static Activation silu() { return new Activation("SiLU", Tensor::silu); }

    /**
     * {@code 1 / (1 + exp(-x))}.
     *
     * @return the module
     */
    public static Activation sigmoid() { return new Activation("Sigmoid", Tensor::sigmoid); }

    /**
     * The hyperbolic tangent.
     *
     * @return the module
     */
    public static Activation tanh() { return new Activation("Tanh", Tensor::tanh); }

    /**
     * {@code log(1 + exp(x))}.
     *
     * @return the module
     */
    public static Activation softplus() { return new Activation("Softplus", Tensor::softplus); }

    /**
     * PyTorch's {@code nn.Softplus(beta, threshold)}: {@code log(1 + exp(beta * x)) / beta}, and x itself where
     * {@code beta * x > threshold}.
     *
     * @param beta the sharpness
     * @param threshold above which (in {@code beta * x}) the function is linear
     * @return the module
     */

    public static Activation softplus(double beta, double threshold) {
        return new Activation("Softplus(beta=" + beta + ", threshold=" + threshold + ")", x -> x.softplus(beta, threshold));
    }

    /**
     * Softmax along {@code dim}.
     *
     * @param dim the dimension that sums to 1
     * @return the module
     */
    public static Activation softmax(int dim) { return new Activation("Softmax(" + dim + ")", x -> x.softmax(dim)); }

    /**
     * Log-softmax along {@code dim}.
     *
     * @param dim the dimension normalised over
     * @return the module
     */
    public static Activation logSoftmax(int dim) { return new Activation("LogSoftmax(" + dim + ")", x -> x.logSoftmax(dim)); }

    /**
     * Passes its input through (PyTorch's Identity), for optional stages.
     *
     * @return the module
     */
    public static Activation identity() { return new Activation("Identity", x -> x); }

    @Override
    public Tensor forward(Tensor input) { return fn.apply(input); }

    @Override
    protected String describe() { return name; }
}
