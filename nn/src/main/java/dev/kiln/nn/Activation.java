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

    public static Activation relu() { return new Activation("ReLU", Tensor::relu); }

    public static Activation leakyRelu(double negativeSlope) { return new Activation("LeakyReLU(" + negativeSlope + ")", x -> x.leakyRelu(negativeSlope)); }

    public static Activation elu(double alpha) { return new Activation("ELU(" + alpha + ")", x -> x.elu(alpha)); }

    public static Activation gelu() { return new Activation("GELU", Tensor::gelu); }

    public static Activation geluTanh() { return new Activation("GELU(tanh)", x -> x.gelu(true)); }

    public static Activation silu() { return new Activation("SiLU", Tensor::silu); }

    public static Activation sigmoid() { return new Activation("Sigmoid", Tensor::sigmoid); }

    public static Activation tanh() { return new Activation("Tanh", Tensor::tanh); }

    public static Activation softplus() { return new Activation("Softplus", Tensor::softplus); }

    /** PyTorch's {@code nn.Softplus(beta, threshold)}. */
    public static Activation softplus(double beta, double threshold) {
        return new Activation("Softplus(beta=" + beta + ", threshold=" + threshold + ")", x -> x.softplus(beta, threshold));
    }

    public static Activation softmax(int dim) { return new Activation("Softmax(" + dim + ")", x -> x.softmax(dim)); }

    public static Activation logSoftmax(int dim) { return new Activation("LogSoftmax(" + dim + ")", x -> x.logSoftmax(dim)); }

    /** Passes its input through (PyTorch's Identity), for optional stages. */
    public static Activation identity() { return new Activation("Identity", x -> x); }

    @Override
    public Tensor forward(Tensor input) { return fn.apply(input); }

    @Override
    protected String describe() { return name; }
}
