package dev.kiln.bench;

import java.lang.reflect.InvocationTargetException;
import java.util.Optional;

/**
 * PyTorch (libtorch on the CPU) as the reference for the rows OpenBLAS has nothing to say about: conv2d passes,
 * softmax, layer_norm, attention, the LSTM and whole training steps. The implementation lives in {@code src/pytorch/java} and is compiled only with the
 * {@code pytorch} Maven profile, which brings its 90 MB of natives; without it {@link #find()} is empty.
 */
interface PyTorchReference {

    /** The implementation's class, present only when the benchmarks were built with {@code -Ppytorch}. */
    String IMPLEMENTATION = "dev.kiln.bench.LibTorchReference";

    /** Version and thread settings, for the table's header. */
    String describe();

    /** The same pass, shapes and flops as {@link Kernels#conv2d}. */
    Workload conv2d(Kernels.ConvPass pass, int n, int c, int h, int w, int cout, int k, int stride, int pad);

    /** Softmax over the last axis, as {@link Kernels#softmax}. */
    Workload softmax(int rows, int cols);

    /** Layer norm over the last axis with weight and bias, as {@link Kernels#layerNorm}. */
    Workload layerNorm(int rows, int cols);

    /** {@code at::scaled_dot_product_attention}, as {@link Networks#attention}. */
    Workload attention(Networks.Pass pass, int batch, int heads, int seq, int headDim, boolean causal);

    /** {@code torch::nn::LSTM}, as {@link Networks#lstm}. */
    Workload lstm(Networks.Pass pass, int layers, int seq, int batch, int input, int hidden);

    /** One SGD step of LeNet-5, as {@link Networks#lenet5Step}. */
    Workload lenet5Step(int batch);

    /** One SGD step of an LSTM with a mean-squared error on its outputs, as {@link Networks#lstmStep}. */
    Workload lstmStep(int layers, int seq, int batch, int input, int hidden);

    /** One AdamW step of the GPT, as {@link Networks#gptStep}. */
    Workload gptStep(dev.kiln.nn.models.Gpt.Config config, int batch);

    /** The PyTorch reference if its classes are on the class path; its natives load on first use. */
    static Optional<PyTorchReference> find() {
        return Holder.INSTANCE;
    }

    /** Looks the implementation up once. */
    final class Holder {
        private Holder() {}

        private static final Optional<PyTorchReference> INSTANCE = load();

        private static Optional<PyTorchReference> load() {
            try {
                // Both the implementation and libtorch's classes: a stale build may leave the first without the second.
                Class.forName("org.bytedeco.pytorch.global.torch", false, PyTorchReference.class.getClassLoader());
                return Optional.of((PyTorchReference) Class.forName(IMPLEMENTATION).getDeclaredConstructor().newInstance());
            } catch (ClassNotFoundException e) {
                return Optional.empty();
            } catch (ReflectiveOperationException e) {
                Throwable cause = e instanceof InvocationTargetException ite ? ite.getCause() : e;
                throw new IllegalStateException("the PyTorch reference is on the class path but did not start: " + cause, cause);
            }
        }
    }
}
