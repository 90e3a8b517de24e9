package dev.kiln.bench;

import dev.kiln.cpu.simd.WorkerPool;
import org.bytedeco.javacpp.BoolPointer;
import org.bytedeco.pytorch.LongArrayRefOptional;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;

import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@link PyTorchReference} through JavaCPP's libtorch presets (CPU build). It gets as many intra-op threads
 * as Kiln's pool ({@code at::set_num_threads}); OpenBLAS inside libtorch follows {@code OPENBLAS_NUM_THREADS},
 * which should be 1 for these rows so that its threads do not pile onto libtorch's (see RESULTS.md).
 * Inputs are float32 and normally distributed; ops run eagerly, so a call returns when the result is ready.
 */
final class LibTorchReference implements PyTorchReference {

    LibTorchReference() {
        torch.set_num_threads(WorkerPool.shared().parallelism());
    }

    @Override
    public String describe() {
        String config = torch.show_config().getString();
        List<String> settings = Stream.of("TORCH_VERSION", "CPU capability usage", "USE_MKLDNN", "BLAS_INFO", "USE_OPENMP")
                .map(key -> Pattern.compile(Pattern.quote(key) + "[=:] *([^,\\s]+)").matcher(config))
                .filter(Matcher::find).map(m -> m.group(0).strip()).toList();
        return "PyTorch (JavaCPP presets): " + String.join(" ", settings)
                + ", at::get_num_threads=" + torch.get_num_threads() + ", OPENBLAS_NUM_THREADS="
                + System.getenv().getOrDefault("OPENBLAS_NUM_THREADS", "(all cores)");
    }

    @Override
    public Workload conv2d(Kernels.ConvPass pass, int n, int c, int h, int w, int cout, int k, int stride, int pad) {
        Tensor input = torch.randn(n, c, h, w), weight = torch.randn(cout, c, k, k);
        long[] strides = {stride, stride}, pads = {pad, pad}, dilation = {1, 1}, outputPadding = {0, 0};
        Tensor out = torch.convolution(input, weight, new TensorOptional(), strides, pads, dilation, false, outputPadding, 1);
        double flops = 2.0 * out.numel() * c * k * k;
        // Which of (grad_input, grad_weight, grad_bias) convolution_backward computes.
        BoolPointer mask = new BoolPointer(3).put(0, pass == Kernels.ConvPass.BACKWARD_INPUT).put(1, pass == Kernels.ConvPass.BACKWARD_WEIGHT).put(2, false);
        Supplier<AutoCloseable> op = switch (pass) {
            case FORWARD -> () -> torch.convolution(input, weight, new TensorOptional(), strides, pads, dilation, false, outputPadding, 1);
            case BACKWARD_INPUT, BACKWARD_WEIGHT -> () -> torch.convolution_backward(out, input, weight, new LongArrayRefOptional(),
                    strides, pads, dilation, false, outputPadding, 1, mask);
        };
        return workload(flops, "GFLOP/s", op, List.of(input, weight, out), mask);
    }

    @Override
    public Workload softmax(int rows, int cols) {
        Tensor x = torch.randn(rows, cols);
        return workload(2.0 * rows * cols * 4, "GB/s", () -> torch.softmax(x, 1), List.of(x), null);
    }

    @Override
    public Workload layerNorm(int rows, int cols) {
        Tensor x = torch.randn(rows, cols), weight = torch.randn(cols), bias = torch.randn(cols);
        TensorOptional w = new TensorOptional(weight), b = new TensorOptional(bias);
        return workload(2.0 * rows * cols * 4, "GB/s", () -> torch.layer_norm(x, new long[] {cols}, w, b, 1e-5, false),
                List.of(x, weight, bias), null);
    }

    @Override
    public Workload attention(Networks.Pass pass, int batch, int heads, int seq, int headDim, boolean causal) {
        return LibTorchNetworks.attention(pass, batch, heads, seq, headDim, causal);
    }

    @Override
    public Workload lstm(Networks.Pass pass, int layers, int seq, int batch, int input, int hidden) {
        return LibTorchNetworks.lstm(pass, layers, seq, batch, input, hidden);
    }

    @Override
    public Workload lenet5Step(int batch) { return LibTorchNetworks.lenet5Step(batch); }

    @Override
    public Workload lstmStep(int layers, int seq, int batch, int input, int hidden) {
        return LibTorchNetworks.lstmStep(layers, seq, batch, input, hidden);
    }

    @Override
    public Workload gptStep(dev.kiln.nn.models.Gpt.Config config, int batch) { return LibTorchNetworks.gptStep(config, batch); }

    /** Runs {@code op} and frees its result each time; {@code close} frees the inputs. */
    private static Workload workload(double work, String unit, Supplier<? extends AutoCloseable> op, List<Tensor> inputs, AutoCloseable extra) {
        return new Workload() {
            @Override
            public void run() {
                try (AutoCloseable result = op.get()) {
                    // nothing to read: the op has run when it returns
                } catch (Exception e) {
                    throw new IllegalStateException("freeing a PyTorch result", e);
                }
            }

            @Override public double work() { return work; }

            @Override public String unit() { return unit; }

            @Override
            public void close() {
                inputs.forEach(Tensor::close);
                try {
                    if (extra != null) extra.close();
                } catch (Exception e) {
                    throw new IllegalStateException("freeing the PyTorch reference's buffers", e);
                }
            }
        };
    }
}
