package dev.kiln.bench;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.backend.Backend;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;

import java.util.ArrayList;
import java.util.List;

/**
 * Kiln's side of every benchmark, written against the backend SPI so that the same workload runs on each
 * backend present. Inputs are float32 and normally distributed; each run ends with {@code synchronize()}.
 */
final class Kernels {
    private Kernels() {}

    /** Which conv2d pass to time. */
    enum ConvPass { FORWARD, BACKWARD_INPUT, BACKWARD_WEIGHT }

    /** {@code out[b] = a[b] * w}: b batches of m x k times one shared k x n (stride 0 over the batch). */
    static Workload gemm(Backend be, int batch, int m, int n, int k) { return gemm(be, DType.FLOAT32, batch, m, n, k); }

    /** {@link #gemm(Backend, int, int, int, int)} on operands of {@code dtype} (half types: float32 accumulation). */
    static Workload gemm(Backend be, DType dtype, int batch, int m, int n, int k) {
        Buffers bufs = new Buffers(be, dtype);
        View a = bufs.random(batch, m, k);
        View w = bufs.random(k, n);
        View b = w.withShape(new int[] {batch, k, n}, new long[] {0, n, 1}, 0);
        View out = bufs.empty(batch, m, n);
        return bufs.workload(2.0 * batch * m * n * k, "GFLOP/s", () -> be.matmul(a, b, out));
    }

    static Workload binary(Backend be, BinaryOp op, int n) {
        Buffers bufs = new Buffers(be);
        View a = bufs.random(n), b = bufs.random(n), out = bufs.empty(n);
        return bufs.workload(3.0 * n * 4, "GB/s", () -> be.binary(op, a, b, out));
    }

    /** {@code times} launches of a binary op on {@code n} elements, then one synchronisation: the per-op host cost. */
    static Workload repeated(Backend be, int times, BinaryOp op, int n) {
        Buffers bufs = new Buffers(be);
        View a = bufs.random(n), b = bufs.random(n), out = bufs.empty(n);
        return bufs.workload(0, "", () -> {
            for (int i = 0; i < times; i++) be.binary(op, a, b, out);
        });
    }

    static Workload unary(Backend be, UnaryOp op, int n) {
        Buffers bufs = new Buffers(be);
        View x = bufs.random(n), out = bufs.empty(n);
        return bufs.workload(2.0 * n * 4, "GB/s", () -> be.unary(op, 0.01, x, out));
    }

    /** Reduces {@code shape} over {@code axes} (sorted). */
    static Workload reduce(Backend be, ReduceOp op, int[] shape, int... axes) {
        Buffers bufs = new Buffers(be);
        View x = bufs.random(shape);
        int[] outShape = shape.clone();
        for (int ax : axes) outShape[ax] = 1;
        View out = bufs.empty(outShape);
        return bufs.workload(4.0 * View.numel(shape), "GB/s", () -> be.reduce(op, x, axes, out));
    }

    static Workload softmax(Backend be, int rows, int cols) {
        Buffers bufs = new Buffers(be);
        View x = bufs.random(rows, cols), out = bufs.empty(rows, cols);
        return bufs.workload(2.0 * rows * cols * 4, "GB/s", () -> be.softmax(x, 1, false, out));
    }

    /**
     * layer_norm over the last axis of a rows x cols input with weight and bias, through the public tensor API as a
     * user calls it (which reaches the backend's fused {@code layerNorm}), so the row includes the per-op overhead.
     */
    static Workload layerNorm(Backend be, String device, int rows, int cols) {
        Device d = Device.parse(device);
        Tensor x = Tensor.randn(DType.FLOAT32, d, rows, cols), weight = Tensor.randn(DType.FLOAT32, d, cols), bias = Tensor.randn(DType.FLOAT32, d, cols);
        int[] normalized = {cols};
        be.synchronize();
        return new Workload() {
            @Override
            public void run() {
                try (Scope scope = Scope.open()) {
                    Functional.layerNorm(x, normalized, weight, bias, 1e-5);
                    be.synchronize();
                }
            }

            @Override public double work() { return 2.0 * rows * cols * 4; }

            @Override public String unit() { return "GB/s"; }

            @Override
            public void close() {
                x.close();
                weight.close();
                bias.close();
            }
        };
    }

    /** conv2d over an n x c x h x w input with cout k x k filters. */
    static Workload conv2d(Backend be, ConvPass pass, int n, int c, int h, int w, int cout, int k, int stride, int pad) {
        return conv2d(be, DType.FLOAT32, pass, n, c, h, w, cout, k, stride, pad);
    }

    /** {@link #conv2d(Backend, ConvPass, int, int, int, int, int, int, int, int)} on operands of {@code dtype}. */
    static Workload conv2d(Backend be, DType dtype, ConvPass pass, int n, int c, int h, int w, int cout, int k, int stride, int pad) {
        Conv2dSpec spec = Conv2dSpec.of(stride, pad);
        int oh = spec.outH(h, k), ow = spec.outW(w, k);
        Buffers bufs = new Buffers(be, dtype);
        View input = bufs.random(n, c, h, w), weight = bufs.random(cout, c, k, k), out = bufs.random(n, cout, oh, ow);
        double flops = 2.0 * n * cout * oh * ow * c * k * k;
        Runnable op = switch (pass) {
            case FORWARD -> () -> be.conv2d(input, weight, spec, out);
            case BACKWARD_INPUT -> () -> be.conv2dBackwardInput(out, weight, spec, input);
            case BACKWARD_WEIGHT -> () -> be.conv2dBackwardWeight(input, out, spec, weight);
        };
        return bufs.workload(flops, "GFLOP/s", op);
    }

    /** Buffers of one workload, of one dtype, released together. */
    private static final class Buffers {
        private final Backend be;
        private final DType dtype;
        private final List<View> views = new ArrayList<>();

        Buffers(Backend be) { this(be, DType.FLOAT32); }

        Buffers(Backend be, DType dtype) {
            this.be = be;
            this.dtype = dtype;
        }

        View empty(int... shape) {
            View v = be.allocateView(dtype, shape);
            views.add(v);
            return v;
        }

        /** Normal values; a half type gets them drawn in float32 and rounded, as random kernels compute in float32. */
        View random(int... shape) {
            View v = empty(shape);
            View drawn = dtype.isComputeType() ? v : be.allocateView(DType.FLOAT32, shape);
            be.random(Distribution.NORMAL, 0, 1, 42 + views.size(), 0, drawn);
            if (drawn != v) {
                be.copy(drawn, v);
                be.release(drawn.buffer());
            }
            return v;
        }

        Workload workload(double work, String unit, Runnable op) {
            be.synchronize();
            return new Workload() {
                @Override
                public void run() {
                    op.run();
                    be.synchronize();
                }

                @Override public double work() { return work; }

                @Override public String unit() { return unit; }

                @Override
                public void close() {
                    views.forEach(v -> be.release(v.buffer()));
                    views.clear();
                }
            };
        }
    }
}
