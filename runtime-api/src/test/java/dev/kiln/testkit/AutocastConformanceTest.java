package dev.kiln.testkit;

import dev.kiln.Autocast;
import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.backend.Conv2dSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Mixed precision ({@link Autocast}): which ops compute in the half type and which in float32, the values against a
 * float64 reference of the half-rounded operands (a product accumulated in float32 and rounded once is within one
 * unit roundoff of it, which a product accumulated in the half type would not be), gradients in each parameter's
 * dtype, the scope's nesting per thread, and a small network whose loss falls when trained under autocast.
 */
class AutocastConformanceTest {
    private static final DType[] HALVES = {DType.BFLOAT16, DType.FLOAT16};

    /** The unit roundoff of a half type: 2^-8 for bfloat16's 8 significant bits, 2^-11 for float16's 11. */
    private static double unitRoundoff(DType half) { return half == DType.BFLOAT16 ? 0x1p-8 : 0x1p-11; }

    /** x rounded to the nearest half-type value (ties to even), as a cast from float32 does. */
    private static double[] rounded(double[] x, DType half) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            float f = (float) x[i];
            if (half == DType.FLOAT16) y[i] = Float.float16ToFloat(Float.floatToFloat16(f));
            else {
                int bits = Float.floatToRawIntBits(f);
                y[i] = Float.intBitsToFloat(((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16) << 16);
            }
        }
        return y;
    }

    private static double maxAbs(double[] x) {
        double m = 0;
        for (double v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    @BackendTest
    void matmulAndLinearComputeInTheHalfTypeWithFloat32Accumulation(TestDevice device) {
        device.activate();
        int m = 9, k = 67, n = 13;
        double[] a = data(301, m * k, -2, 2), b = data(302, k * n, -2, 2), bias = data(303, n, -1, 1);
        for (DType half : HALVES) {
            double u = unitRoundoff(half);
            double[] ah = rounded(a, half), bh = rounded(b, half), biasH = rounded(bias, half);
            double[] product = MatmulConformanceTest.ref(ah, 1, m, k, bh, 1, n);
            try (Scope s = Scope.open(); Autocast ac = Autocast.enable(half)) {
                Tensor y = Ref.f32(a, m, k).matmul(Ref.f32(b, k, n));
                assertEquals(half, y.dtype(), "matmul under autocast(" + half + ")");
                // float32 accumulation of k = 67 terms adds well under 1e-5 relative; the rounding is u at most.
                assertClose(product, y, u * 1.01, 1e-6, half + " matmul vs float64 reference");

                Tensor lin = Functional.linear(Ref.f32(a, m, k), Ref.f32(transpose(b, k, n), n, k), Ref.f32(bias, n));
                assertEquals(half, lin.dtype(), "linear under autocast(" + half + ") keeps the half type through the bias");
                double[] expected = new double[m * n];
                for (int i = 0; i < m * n; i++) expected[i] = product[i] + biasH[i % n];
                assertClose(expected, lin, 2 * u, u * maxAbs(product), half + " linear vs float64 reference");

                Tensor batched = Ref.f32(a, 1, m, k).expand(3, m, k).matmul(Ref.f32(b, k, n));
                assertEquals(half, batched.dtype());
                assertClose(concat(product, product, product), batched, u * 1.01, 1e-6, half + " broadcast batched matmul");
            }
        }
    }

    private static double[] transpose(double[] x, int rows, int cols) {
        double[] t = new double[x.length];
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
        return t;
    }

    private static double[] concat(double[]... parts) {
        int n = 0;
        for (double[] p : parts) n += p.length;
        double[] out = new double[n];
        int at = 0;
        for (double[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }

    @BackendTest
    void convolutionComputesInTheHalfType(TestDevice device) {
        device.activate();
        ConvolutionConformanceTest.Case k = new ConvolutionConformanceTest.Case(2, 4, 7, 6, 6, 3, 3, new Conv2dSpec(1, 1, 1, 1, 1, 1, 2));
        double[] x = data(311, Ref.numel(k.inShape()), -1, 1), w = data(312, Ref.numel(k.weightShape()), -1, 1), bias = data(313, k.cout(), -1, 1);
        for (DType half : HALVES) {
            double u = unitRoundoff(half);
            double[] conv = ConvolutionConformanceTest.refConv(k, rounded(x, half), rounded(w, half), null);
            double[] expected = ConvolutionConformanceTest.refConv(k, rounded(x, half), rounded(w, half), rounded(bias, half));
            try (Scope s = Scope.open(); Autocast ac = Autocast.enable(half)) {
                Tensor y = Functional.conv2d(Ref.f32(x, k.inShape()), Ref.f32(w, k.weightShape()), Ref.f32(bias, k.cout()), k.spec());
                assertEquals(half, y.dtype(), "conv2d under autocast(" + half + ")");
                assertClose(expected, y, 2 * u, u * maxAbs(conv), half + " conv2d vs float64 reference");
                Tensor unbatched = Functional.conv2d(Ref.f32(x, k.inShape()).select(0, 1), Ref.f32(w, k.weightShape()), null, k.spec());
                assertEquals(half, unbatched.dtype());
            }
        }
    }

    @BackendTest
    void softmaxNormsLossesAndReductionsComputeInFloat32(TestDevice device) {
        device.activate();
        for (DType half : HALVES) {
            try (Scope s = Scope.open(); Autocast ac = Autocast.enable(half)) {
                Tensor logits = Ref.f32(data(321, 4 * 6, -1, 1), 4, 6).matmul(Ref.f32(data(322, 36, -1, 1), 6, 6));
                assertEquals(half, logits.dtype());
                Tensor target = Tensor.of(new long[] {0, 5, 2, 3}, 4);
                String[] names = {"softmax", "log_softmax", "layer_norm", "batch_norm", "cross_entropy", "mse_loss", "sum", "mean"};
                Tensor[] results = {logits.softmax(1), logits.logSoftmax(1), Functional.layerNorm(logits, new int[] {6}, null, null, 1e-5),
                        Functional.batchNorm(logits, null, null, null, null, true, 0.1, 1e-5),
                        Functional.crossEntropy(logits, target), Functional.mseLoss(logits, Tensor.zerosLike(logits)), logits.sum(), logits.mean()};
                for (int i = 0; i < names.length; i++) assertEquals(DType.FLOAT32, results[i].dtype(), names[i] + " under autocast(" + half + ")");
                // The float32 softmax of the half logits: rows sum to 1 to float32 precision, not the half type's.
                assertClose(new double[] {1, 1, 1, 1}, results[0].sum(1), 1e-6, 1e-6, half + " softmax rows");
            }
        }
    }

    @BackendTest
    void gradientsFlowBackInEachParametersDtype(TestDevice device) {
        device.activate();
        int m = 5, k = 24, n = 7;
        double[] a = data(331, m * k, -1, 1), b = data(332, k * n, -1, 1), w = data(333, m * n, -1, 1);
        for (DType half : HALVES) {
            double u = unitRoundoff(half);
            try (Scope s = Scope.open()) {
                Tensor at = Ref.f32(a, m, k).requiresGrad(true), bt = Ref.f32(b, k, n).requiresGrad(true);
                Tensor loss;
                try (Autocast ac = Autocast.enable(half)) {
                    loss = at.matmul(bt).mul(Ref.f32(w, m, n)).sum();
                }
                assertEquals(DType.FLOAT32, loss.dtype());
                loss.backward();
                assertEquals(DType.FLOAT32, at.grad().dtype(), "a float32 parameter's gradient is float32");
                assertEquals(DType.FLOAT32, bt.grad().dtype());
                // d loss / d a = w · bᵀ, computed by the half matmul's backward from the rounded operands.
                double[] ga = MatmulConformanceTest.ref(rounded(w, half), 1, m, n, transpose(rounded(b, half), k, n), 1, k);
                double[] gb = MatmulConformanceTest.ref(transpose(rounded(a, half), m, k), 1, k, m, rounded(w, half), 1, n);
                assertClose(ga, at.grad(), 1.01 * u, 1e-6, half + " grad a");
                assertClose(gb, bt.grad(), 1.01 * u, 1e-6, half + " grad b");

                Tensor ah = Ref.f32(a, m, k).to(half).requiresGrad(true);
                try (Autocast ac = Autocast.enable(half)) {
                    ah.matmul(Ref.f32(b, k, n)).sum().backward();
                }
                assertEquals(half, ah.grad().dtype(), "a half parameter's gradient is in its half type");
            }
        }
    }

    @BackendTest
    void float64OperandsAreNeverCast(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open(); Autocast ac = Autocast.enable(DType.BFLOAT16)) {
            double[] a = data(341, 12, -1, 1), b = data(342, 12, -1, 1);
            Tensor y = Ref.f64(a, 3, 4).matmul(Ref.f64(b, 4, 3));
            assertEquals(DType.FLOAT64, y.dtype());
            assertClose(MatmulConformanceTest.ref(a, 1, 3, 4, b, 1, 3), y, 1e-12, 1e-12, "float64 matmul under autocast");
        }
    }

    @Test
    void scopesNestPerThreadAndRestoreTheirState() throws InterruptedException {
        assertFalse(Autocast.isEnabled());
        try (Autocast outer = Autocast.enable(DType.BFLOAT16)) {
            assertEquals(DType.BFLOAT16, Autocast.dtype());
            try (Autocast inner = Autocast.enable(DType.FLOAT16)) {
                assertEquals(DType.FLOAT16, Autocast.dtype());
                try (Autocast off = Autocast.disable()) {
                    assertFalse(Autocast.isEnabled());
                }
                assertEquals(DType.FLOAT16, Autocast.dtype());
            }
            assertEquals(DType.BFLOAT16, Autocast.dtype());
            AtomicReference<DType> seen = new AtomicReference<>(DType.INT32);
            Thread other = new Thread(() -> seen.set(Autocast.dtype()));
            other.start();
            other.join();
            assertNull(seen.get(), "another thread is not under this thread's autocast");
        }
        assertFalse(Autocast.isEnabled());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Autocast.enable(DType.FLOAT32));
        assertTrue(e.getMessage().contains("bfloat16 or float16") && e.getMessage().contains("float32"), e.getMessage());
    }

    /**
     * A two-layer classifier of four Gaussian clusters, float32 parameters, trained by plain SGD with the forward
     * pass under autocast: its loss falls to well under half the first step's. float16 scales the loss by 1024
     * (a fixed loss scale; nn's GradScaler adapts it) and unscales the gradients before the update.
     */
    @BackendTest
    void aSmallNetworkTrainsUnderAutocast(TestDevice device) {
        device.activate();
        int samples = 64, features = 8, hidden = 32, classes = 4;
        double[] xs = new double[samples * features];
        long[] ys = new long[samples];
        double[] noise = data(351, samples * features, -0.5, 0.5);
        for (int i = 0; i < samples; i++) {
            ys[i] = i % classes;
            for (int f = 0; f < features; f++) xs[i * features + f] = (f % classes == ys[i] ? 1.5 : 0) + noise[i * features + f];
        }
        for (DType half : HALVES) {
            double scale = half == DType.FLOAT16 ? 1024 : 1;
            Kiln.manualSeed(35);
            try (Scope s = Scope.open()) {
                Tensor x = Ref.f32(xs, samples, features), y = Tensor.of(ys, samples);
                Tensor w1 = Tensor.randn(hidden, features).mul(0.3).requiresGrad(true), b1 = Tensor.zeros(hidden).requiresGrad(true);
                Tensor w2 = Tensor.randn(classes, hidden).mul(0.3).requiresGrad(true), b2 = Tensor.zeros(classes).requiresGrad(true);
                List<Tensor> params = List.of(w1, b1, w2, b2);
                List<Double> losses = new ArrayList<>();
                for (int step = 0; step < 40; step++) {
                    try (Scope stepScope = Scope.open()) {
                        Tensor loss;
                        try (Autocast ac = Autocast.enable(half)) {
                            Tensor h = Functional.linear(x, w1, b1).relu();
                            loss = Functional.crossEntropy(Functional.linear(h, w2, b2), y);
                        }
                        assertEquals(DType.FLOAT32, loss.dtype());
                        losses.add(loss.item());
                        loss.mul(scale).backward();
                        try (GradMode ng = GradMode.noGrad()) {
                            for (Tensor p : params) {
                                assertEquals(DType.FLOAT32, p.grad().dtype());
                                p.sub_(p.grad().mul(0.5 / scale));
                                p.setGrad(null);
                            }
                        }
                    }
                }
                double first = losses.getFirst(), last = losses.getLast();
                assertTrue(Double.isFinite(last) && last < 0.3 * first, half + ": loss " + first + " -> " + last + " over 40 steps " + losses);
            }
        }
    }
}
