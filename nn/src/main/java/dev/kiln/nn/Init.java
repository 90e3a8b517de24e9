package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.random.Generator;

/**
 * Parameter initialisers, drawn from Kiln's default Philox generator or a {@link Generator} given to them, so a
 * seed reproduces a model on every backend. Defaults follow PyTorch's layers.
 */
public final class Init {
    private Init() {}

    /**
     * Uniform on [-bound, bound) from the default generator (PyTorch's {@code nn.init.uniform_}).
     *
     * @param bound the half-width
     * @param shape the tensor's shape
     * @return a new float32 tensor on the default device
     */
    public static Tensor uniform(double bound, int... shape) { return uniform(null, bound, shape); }

    /**
     * Uniform on [-bound, bound) from {@code generator}.
     *
     * @param generator the generator drawn from, or null for the default generator
     * @param bound the half-width
     * @param shape the tensor's shape
     * @return a new float32 tensor on the default device
     */
    public static Tensor uniform(Generator generator, double bound, int... shape) {
        try (Scope s = Scope.open()) {
            return s.keep(Tensor.rand(generator, DType.FLOAT32, null, shape).mul(2 * bound).sub(bound));
        }
    }

    /**
     * Normal with mean 0 and the given standard deviation (PyTorch's {@code nn.init.normal_}).
     *
     * @param std the standard deviation
     * @param shape the tensor's shape
     * @return a new float32 tensor on the default device
     */
    public static Tensor normal(double std, int... shape) { return normal(null, std, shape); }

    /**
     * Normal with mean 0 and the given standard deviation, from {@code generator}.
     *
     * @param generator the generator drawn from, or null for the default generator
     * @param std the standard deviation
     * @param shape the tensor's shape
     * @return a new float32 tensor on the default device
     */
    public static Tensor normal(Generator generator, double std, int... shape) {
        try (Tensor n = Tensor.randn(generator, DType.FLOAT32, null, shape)) {
            return n.mul(std);
        }
    }

    /**
     * PyTorch's default for Linear and Conv weights (Kaiming uniform with a = sqrt(5)), which reduces to
     * uniform on +-1/sqrt(fanIn); biases use the same bound.
     *
     * @param fanIn the inputs each output sees
     * @param shape the tensor's shape
     * @return a new float32 tensor on the default device
     */
    public static Tensor fanInUniform(int fanIn, int... shape) { return uniform(1 / Math.sqrt(Math.max(1, fanIn)), shape); }

    /**
     * Glorot/Xavier uniform: bound sqrt(6 / (fanIn + fanOut)) (PyTorch's {@code nn.init.xavier_uniform_}).
     *
     * @param fanIn the inputs each output sees
     * @param fanOut the outputs each input feeds
     * @param shape the tensor's shape
     * @return a new float32 tensor on the default device
     */
    public static Tensor xavierUniform(int fanIn, int fanOut, int... shape) { return xavierUniform(null, fanIn, fanOut, shape); }

    /**
     * {@link #fanInUniform(int, int...)} drawing from {@code generator}.
     *
     * @param generator the generator drawn from, or null for the default generator
     * @param fanIn the inputs each output sees
     * @param shape the tensor's shape
     * @return a new float32 tensor on the default device
     */
    public static Tensor fanInUniform(Generator generator, int fanIn, int... shape) { return uniform(generator, 1 / Math.sqrt(Math.max(1, fanIn)), shape); }

    /**
     * {@link #xavierUniform(int, int, int...)} drawing from {@code generator}.
     *
     * @param generator the generator drawn from, or null for the default generator
     * @param fanIn the inputs each output sees
     * @param fanOut the outputs each input feeds
     * @param shape the tensor's shape
     * @return a new float32 tensor on the default device
     */
    public static Tensor xavierUniform(Generator generator, int fanIn, int fanOut, int... shape) {

        return uniform(generator, Math.sqrt(6.0 / (fanIn + fanOut)), shape);
    }
}
