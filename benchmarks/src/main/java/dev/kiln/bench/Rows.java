package dev.kiln.bench;

import dev.kiln.backend.Backend;
import dev.kiln.backend.BackendProvider;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.nn.models.Gpt;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The rows of the comparison table: a workload on one backend and, where there is one, the reference it is
 * measured against in the same run. {@code quick} keeps the set small enough for {@code kiln bench --quick}.
 */
record Rows(String id, Supplier<Workload> ours, String refName, Supplier<Workload> ref) {

    /** The row's name without its device prefix, as JMH's {@code name} parameter spells it. */
    String name() { return id.substring(id.indexOf('.') + 1); }

    static List<Rows> forBackend(String device, Backend be, boolean quick) {
        List<Rows> rows = new ArrayList<>();
        int[] squares = quick ? new int[] {256, 512, 1024, 2048} : new int[] {256, 384, 512, 768, 1024, 1536, 2048};
        for (int n : squares) gemm(rows, device, be, "sgemm_" + n, 1, n, n, n);
        // Transformer (BERT-base, 8 x 256 tokens): QKV/FFN projections, and attention scores per head.
        gemm(rows, device, be, "sgemm_ffn_up_2048x3072x768", 1, 2048, 3072, 768);
        gemm(rows, device, be, "sgemm_ffn_down_2048x768x3072", 1, 2048, 768, 3072);
        gemm(rows, device, be, "bmm_attn_96x256x256x64", 96, 256, 256, 64);
        // ResNet-18 3x3 64->64 on 56x56 as im2col GEMM, per image.
        gemm(rows, device, be, "sgemm_conv_64x3136x576", 1, 64, 3136, 576);

        int[] sizes = quick ? new int[] {1 << 20, 1 << 24} : new int[] {1 << 20, 1 << 22, 1 << 24};
        for (int n : sizes) {
            String s = n >= 1 << 20 ? (n >> 20) + "M" : String.valueOf(n);
            streaming(rows, device + ".add_" + s, () -> Kernels.binary(be, BinaryOp.ADD, n), 3L * n * 4);
            streaming(rows, device + ".exp_" + s, () -> Kernels.unary(be, UnaryOp.EXP, n), 2L * n * 4);
            streaming(rows, device + ".gelu_" + s, () -> Kernels.unary(be, UnaryOp.GELU, n), 2L * n * 4);
            if (!quick) streaming(rows, device + ".relu_" + s, () -> Kernels.unary(be, UnaryOp.RELU, n), 2L * n * 4);
            streaming(rows, device + ".sum_all_" + s, () -> Kernels.reduce(be, ReduceOp.SUM, new int[] {n}, 0), 4L * n);
        }
        streaming(rows, device + ".sum_rows_4096x768", () -> Kernels.reduce(be, ReduceOp.SUM, new int[] {4096, 768}, 1), 4L * 4096 * 768);
        streaming(rows, device + ".max_rows_4096x768", () -> Kernels.reduce(be, ReduceOp.MAX, new int[] {4096, 768}, 1), 4L * 4096 * 768);
        streaming(rows, device + ".sum_cols_4096x768", () -> Kernels.reduce(be, ReduceOp.SUM, new int[] {4096, 768}, 0), 4L * 4096 * 768);
        torch(rows, device + ".softmax_64x1024", () -> Kernels.softmax(be, 64, 1024), t -> t.softmax(64, 1024));
        if (!quick) torch(rows, device + ".softmax_4096x768", () -> Kernels.softmax(be, 4096, 768), t -> t.softmax(4096, 768));
        torch(rows, device + ".layer_norm_4096x768", () -> Kernels.layerNorm(be, device, 4096, 768), t -> t.layerNorm(4096, 768));

        for (Kernels.ConvPass pass : Kernels.ConvPass.values()) {
            String p = pass.name().toLowerCase(java.util.Locale.ROOT);
            torch(rows, device + ".conv_lenet1_" + p, () -> Kernels.conv2d(be, pass, 64, 1, 32, 32, 6, 5, 1, 0),
                    t -> t.conv2d(pass, 64, 1, 32, 32, 6, 5, 1, 0));
            torch(rows, device + ".conv_lenet2_" + p, () -> Kernels.conv2d(be, pass, 64, 6, 14, 14, 16, 5, 1, 0),
                    t -> t.conv2d(pass, 64, 6, 14, 14, 16, 5, 1, 0));
            torch(rows, device + ".conv_resnet64_b32_" + p, () -> Kernels.conv2d(be, pass, 32, 64, 56, 56, 64, 3, 1, 1),
                    t -> t.conv2d(pass, 32, 64, 56, 56, 64, 3, 1, 1));
        }
        networks(rows, device, be, quick);
        return rows;
    }

    /**
     * Attention, the LSTM and whole training steps, against PyTorch. The LSTM and GPT rows take seconds per run
     * on a slow backend, so the quick set keeps them on the CPU only.
     */
    private static void networks(List<Rows> rows, String device, Backend be, boolean quick) {
        boolean heavy = !quick || device.startsWith("cpu");
        for (Networks.Pass pass : Networks.Pass.values()) {
            String p = pass.name().toLowerCase(java.util.Locale.ROOT);
            torch(rows, device + ".sdpa_b8h4t256d32_causal_" + p, () -> Networks.attention(be, device, pass, 8, 4, 256, 32, true),
                    t -> t.attention(pass, 8, 4, 256, 32, true));
            if (heavy) torch(rows, device + ".lstm2_t64b32i256h256_" + p, () -> Networks.lstm(be, device, pass, 2, 64, 32, 256, 256),
                    t -> t.lstm(pass, 2, 64, 32, 256, 256));
        }
        torch(rows, device + ".step_lenet5_sgd_b64", () -> Networks.lenet5Step(be, device, 64), t -> t.lenet5Step(64));
        if (heavy) {
            torch(rows, device + ".step_lstm2_t64b32h256_mse_sgd", () -> Networks.lstmStep(be, device, 2, 64, 32, 256, 256),
                    t -> t.lstmStep(2, 64, 32, 256, 256));
            Gpt.Config gpt = Gpt.Config.nanoGptCpu();
            torch(rows, device + ".step_gpt_nanogpt_cpu_adamw_b12", () -> Networks.gptStep(be, device, gpt, 12), t -> t.gptStep(gpt, 12));
        }
    }

    /** A row whose reference is PyTorch when the benchmarks were built with -Ppytorch, and none otherwise. */
    private static void torch(List<Rows> rows, String id, Supplier<Workload> ours, Function<PyTorchReference, Workload> ref) {
        rows.add(PyTorchReference.find()
                .map(t -> new Rows(id, ours, "pytorch", () -> ref.apply(t)))
                .orElseGet(() -> new Rows(id, ours, "none", null)));
    }

    /** A GEMM row: its reference is CLBlast on the same device and queue for an OpenCL device, else OpenBLAS. */
    private static void gemm(List<Rows> rows, String device, Backend be, String name, int batch, int m, int n, int k) {
        Supplier<Workload> ours = () -> Kernels.gemm(be, batch, m, n, k);
        var cl = dev.kiln.opencl.OpenClRuntime.backendOf(be);
        if (cl != null)
            rows.add(new Rows(device + "." + name, ours, "clblast", () -> ClBlastReference.sgemm(cl, batch, m, n, k)));
        else rows.add(new Rows(device + "." + name, ours, "openblas", () -> OpenBlasReference.sgemm(batch, m, n, k)));
    }

    /** A memory-bound row: its reference is a copy moving the same bytes, on the row's device (its id's prefix). */
    private static void streaming(List<Rows> rows, String id, Supplier<Workload> ours, long bytes) {
        rows.add(new Rows(id, ours, "copy", () -> CopyCeiling.moving(id.substring(0, id.indexOf('.')), bytes)));
    }

    /** Every backend the probe finds available, by device name, CPU first. */
    static List<Named> backends() {
        List<Named> out = new ArrayList<>();
        for (BackendProvider.Candidate c : DeviceProbe.candidates()) {
            if (!c.isAvailable()) continue;
            Backend be = DeviceProbe.backend(dev.kiln.Device.parse(c.device()));
            if (c.device().startsWith("cpu")) out.addFirst(new Named(c.device(), be));
            else out.add(new Named(c.device(), be));
        }
        return out;
    }

    record Named(String device, Backend backend) {}

    /** The row called {@code name} (no device prefix) on {@code device}, from the full set; for JMH. */
    static Rows find(String device, String name) {
        Backend be = DeviceProbe.backend(dev.kiln.Device.parse(device));
        return forBackend(device, be, false).stream().filter(r -> r.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no benchmark row " + name + " on " + device));
    }
}
