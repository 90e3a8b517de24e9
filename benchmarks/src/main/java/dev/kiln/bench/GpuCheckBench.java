package dev.kiln.bench;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.backend.Backend;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.UnaryOp;
import dev.kiln.nn.models.Gpt;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The CUDA rows of the GPU check ({@code backend-cuda/gpu-check/run.sh}), timed like {@code kiln bench --quick}
 * and printed one per line as {@code bench name=<row> ms=<median> rate=<rate>} for the script to set beside
 * PyTorch's figures for the same rows on the same GPU (its {@code torch_reference.py} prints the same names):
 * SGEMM 4096 at each float32 matmul precision, a bfloat16 GEMM 4096, a 3x3 convolution's three passes in float32 and
 * bfloat16 (cuDNN where it loaded), add and exp on 64M floats with a device copy moving the same bytes,
 * training steps (LeNet-5 batch 256, nanoGPT-small batch 64), and the host's cost of an eager op (1000 adds of one
 * element, then one synchronisation: milliseconds per 1000 ops are microseconds per op). ResNet-18 has no Kiln
 * model yet.
 *
 * <p>Arguments: the device (default {@code cuda}), then optionally {@code --filter a,b}, or {@code --probe} to print
 * the device probe's table and exit with status 0 when the device is available, 2 (and the reason) when not.
 */
public final class GpuCheckBench {
    private GpuCheckBench() {}

    private static final int GEMM_N = 4096, STREAM_N = 64 << 20;

    public static void main(String[] args) {
        String device = args.length > 0 && !args[0].startsWith("--") ? args[0] : "cuda";
        int f = Arrays.asList(args).indexOf("--filter");
        String[] filter = (f >= 0 && f + 1 < args.length ? args[f + 1] : "").split(",");
        if (Arrays.asList(args).contains("--probe")) {
            System.out.print(DeviceProbe.table());
            boolean available = DeviceProbe.candidates().stream()
                    .anyMatch(c -> c.isAvailable() && Device.parse(device).matches(Device.parse(c.device())));
            System.exit(available ? 0 : 2);
        }
        Backend be = DeviceProbe.backend(Device.parse(device));
        System.out.println("# " + be.device() + ": " + be.description());
        for (String precision : new String[] {"highest", "high", "medium"}) {
            Kiln.setFloat32MatmulPrecision(precision);
            row(filter, "sgemm_4096_" + precision, () -> Kernels.gemm(be, 1, GEMM_N, GEMM_N, GEMM_N));
        }
        Kiln.setFloat32MatmulPrecision("highest");
        row(filter, "bf16_gemm_4096_bf16_tensors", () -> Kernels.gemm(be, DType.BFLOAT16, 1, GEMM_N, GEMM_N, GEMM_N));
        // A ResNet-18 (32x32 images, batch 128) stage-2 convolution, each pass, in float32 (exact) and bfloat16.
        for (DType t : new DType[] {DType.FLOAT32, DType.BFLOAT16})
            for (Kernels.ConvPass pass : Kernels.ConvPass.values())
                row(filter, "conv3x3_c128_16x16_b128_" + pass.name().toLowerCase(Locale.ROOT) + "_" + t,
                        () -> Kernels.conv2d(be, t, pass, 128, 128, 16, 16, 128, 3, 1, 1));
        String d = be.device().toString();
        row(filter, "add_64M", () -> Kernels.binary(be, BinaryOp.ADD, STREAM_N));
        row(filter, "copy_as_add_64M", () -> CopyCeiling.moving(d, 3L * STREAM_N * 4));
        row(filter, "exp_64M", () -> Kernels.unary(be, UnaryOp.EXP, STREAM_N));
        row(filter, "copy_as_exp_64M", () -> CopyCeiling.moving(d, 2L * STREAM_N * 4));
        row(filter, "eager_add_1_x1000", () -> Kernels.repeated(be, 1000, BinaryOp.ADD, 1));
        row(filter, "step_lenet5_sgd_b256", () -> Networks.lenet5Step(be, d, 256));
        // nanoGPT's Shakespeare character model: 6 layers, 6 heads, 384 wide, context 256 (no dropout here).
        row(filter, "step_gpt_small_adamw_b64", () -> Networks.gptStep(be, d, new Gpt.Config(65, 256, 6, 6, 384, false), 64));
    }

    private static void row(String[] filter, String name, Supplier<Workload> workload) {
        if (Arrays.stream(filter).noneMatch(name::contains)) return;
        try {
            QuickBench.Result r = QuickBench.time(workload.get());
            System.out.printf(Locale.ROOT, "bench name=%s ms=%.4f rate=%s%n", name, r.ms(), r.rate().replace(' ', '_'));
        } catch (RuntimeException e) {
            System.out.printf(Locale.ROOT, "bench name=%s failed=%s%n", name, String.valueOf(e).replace('\n', ' '));
        }
    }
}
