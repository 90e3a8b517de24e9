package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

/**
 * Parameter initialisers, drawn from Kiln's global Philox generator so a seed reproduces a model on every
 * backend. Defaults follow PyTorch's layers.
 */
public final class Init {
    private Init() {}

    /**
     * Uniform on [-bound, bound).
     *
     * @param bound the half-width of the interval
     * @param shape the tensor's shape
     * @return a new float32 tensor on the default device
     */
    public static Tensor uniform(double bound, int... shape) {
        try (Scope s = Scope.open()) {
            return s.keep(Tensor.rand(shape).mul(2 * bound).sub(bound));
        }
    }

    /**
     * Normal with mean 0 and the given standard deviation.
     *
     * @param std the standard deviation
     * @param shape the tensor's shape
     * @return a new float32 tensor on the default device
     */
    public static Tensor normal(double std, int... shape) {
        try (Tensor n = Tensor.randn(shape)) {
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
     * Glorot/Xavier uniform: bound sqrt(6 / (fanIn + fanOut)).
     *
     * @param fanIn the inputs each output sees
     * @param fanOut the outputs each input feeds
     * @param shape the tensor's shape
     * @return a new float32 tensor on the default device
     */
    public static Tensor xavierUniform(int fanIn, int fanOut, int... shape) { return uniform(Math.sqrt(6.0 / (fanIn + fanOut)), shape); }
}
