package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.backend.Pool2dSpec;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import static dev.kiln.testkit.ErrorConformanceTest.assertMessage;
import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Max, average, adaptive and global pooling against host loops with PyTorch's window rules, and their gradients. */
class PoolingConformanceTest {
    private static final int N = 2, C = 2;

    /** Geometries: {h, w, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, ceilMode}. */
    private static final int[][] WINDOWS = {
            {4, 4, 2, 2, 2, 2, 0, 0, 1, 1, 0},
            {5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 0},
            {6, 6, 3, 3, 2, 2, 0, 0, 1, 1, 1},
            {5, 5, 2, 2, 2, 2, 1, 1, 1, 1, 1},
            {7, 6, 3, 2, 1, 2, 1, 1, 2, 1, 0},
            {7, 7, 3, 3, 3, 3, 1, 1, 2, 2, 1},
            {5, 7, 1, 3, 1, 2, 0, 1, 1, 1, 1},
            {5, 6, 3, 3, 1, 2, 2, 2, 1, 1, 0},
            {6, 7, 2, 2, 1, 1, 0, 1, 2, 2, 1},
    };

    private static Pool2dSpec spec(int[] g) { return new Pool2dSpec(g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10] == 1); }

    /** Max over each window's in-bounds taps, row-major; a strictly larger value wins, so ties keep the first. */
    static double[][] refMaxPool(double[] x, int h, int w, Pool2dSpec s) {
        int oh = s.outH(h), ow = s.outW(w);
        double[] values = new double[N * C * oh * ow], indices = new double[values.length];
        for (int p = 0; p < N * C; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double best = Double.NEGATIVE_INFINITY;
                    int at = -1;
                    for (int a = 0; a < s.kernelH(); a++)
                        for (int b = 0; b < s.kernelW(); b++) {
                            int y = i * s.strideH() - s.padH() + a * s.dilationH(), z = j * s.strideW() - s.padW() + b * s.dilationW();
                            if (y < 0 || y >= h || z < 0 || z >= w) continue;
                            double v = x[p * h * w + y * w + z];
                            if (at < 0 || v > best) {
                                best = v;
                                at = y * w + z;
                            }
                        }
                    values[(p * oh + i) * ow + j] = best;
                    indices[(p * oh + i) * ow + j] = at;
                }
        return new double[][] {values, indices};
    }

    /** Average pooling: the divisor counts the window's taps inside the padded input, or inside the input. */
    static double[] refAvgPool(double[] x, int h, int w, Pool2dSpec s, boolean countIncludePad) {
        int oh = s.outH(h), ow = s.outW(w);
        double[] out = new double[N * C * oh * ow];
        for (int p = 0; p < N * C; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double sum = 0;
                    int size = 0, real = 0;
                    for (int a = 0; a < s.kernelH(); a++)
                        for (int b = 0; b < s.kernelW(); b++) {
                            int y = i * s.strideH() - s.padH() + a * s.dilationH(), z = j * s.strideW() - s.padW() + b * s.dilationW();
                            if (y < h + s.padH() && z < w + s.padW()) size++;
                            if (y < 0 || y >= h || z < 0 || z >= w) continue;
                            real++;
                            sum += x[p * h * w + y * w + z];
                        }
                    out[(p * oh + i) * ow + j] = sum / (countIncludePad ? size : real);
                }
        return out;
    }

    /** Adaptive average pooling with windows [floor(i*in/out), ceil((i+1)*in/out)). */
    static double[] refAdaptive(double[] x, int planes, int h, int w, int oh, int ow) {
        double[] out = new double[planes * oh * ow];
        for (int p = 0; p < planes; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int y0 = i * h / oh, y1 = ((i + 1) * h + oh - 1) / oh, z0 = j * w / ow, z1 = ((j + 1) * w + ow - 1) / ow;
                    double sum = 0;
                    for (int y = y0; y < y1; y++)
                        for (int z = z0; z < z1; z++) sum += x[p * h * w + y * w + z];
                    out[(p * oh + i) * ow + j] = sum / ((y1 - y0) * (z1 - z0));
                }
        return out;
    }

    @BackendTest
    void maxPoolValuesIndicesAndGradients(TestDevice device) {
        device.activate();
        for (int[] g : WINDOWS) {
            Pool2dSpec s = spec(g);
            int h = g[0], w = g[1];
            double[] x = data(21 + h * w, N * C * h * w, -2, 2);
            double[][] expected = refMaxPool(x, h, w, s);
            for (DType dt : Ref.floatingTypes()) {
                try (Scope sc = Scope.open()) {
                    Tensor.ValuesIndices r = Functional.maxPool2dWithIndices(Tensor.of(x, dt, null, N, C, h, w), s);
                    assertShape(r.values(), N, C, s.outH(h), s.outW(w));
                    assertEquals(DType.INT64, r.indices().dtype());
                    assertClose(expected[0], r.values(), Ref.rtol(dt), Ref.atol(dt), "max_pool2d values " + dt + " " + s);
                    assertClose(expected[1], r.indices().toDoubleArray(), 0, 0, "max_pool2d indices " + dt + " " + s);
                }
            }
            GradCheck.check("max_pool2d " + s, t -> Functional.maxPool2d(t, s), x, N, C, h, w);
        }
    }

    @BackendTest
    void maxPoolTiesUnbatchedAndDefaults(TestDevice device) {
        device.activate();
        try (Scope sc = Scope.open()) {
            Tensor grid = Tensor.arange(0, 16, 1, DType.FLOAT32, null).reshape(1, 1, 4, 4);
            Tensor.ValuesIndices r = Functional.maxPool2dWithIndices(grid, Pool2dSpec.of(2, 0, 0));
            assertArrayEquals(new long[] {5, 7, 13, 15}, r.indices().toLongArray(), "flat h * W + w indices");
            assertClose(new double[] {5, 7, 13, 15}, Functional.maxPool2d(grid, 2), 0, 0, "default stride = kernel");
            // Ties: every window is constant, so each index is the window's first in-bounds element.
            Tensor flat = Tensor.ones(1, 1, 4, 4);
            Tensor.ValuesIndices tied = Functional.maxPool2dWithIndices(flat, Pool2dSpec.of(3, 2, 1));
            assertArrayEquals(new long[] {0, 1, 4, 5}, tied.indices().toLongArray(), "ties resolve to the first in-bounds element");
            // All -inf windows report the first in-bounds element too, never a padding position.
            Tensor minusInf = Tensor.full(Double.NEGATIVE_INFINITY, 1, 1, 3, 3);
            assertArrayEquals(new long[] {0, 1, 3, 4}, Functional.maxPool2dWithIndices(minusInf, Pool2dSpec.of(2, 2, 1).withCeilMode(true)).indices().toLongArray());
            // The gradient of a tie goes to the reported index only.
            Tensor leaf = Tensor.ones(DType.FLOAT32, null, 1, 1, 2, 2).requiresGrad(true);
            Functional.maxPool2d(leaf, 2).sum().backward();
            assertClose(new double[] {1, 0, 0, 0}, leaf.grad(), 0, 0, "tie gradient");
            // A NaN wins its windows, as in PyTorch.
            Tensor withNan = Tensor.of(new double[] {1, Double.NaN, 3, 4}, DType.FLOAT32, null, 1, 1, 2, 2);
            Tensor.ValuesIndices nan = Functional.maxPool2dWithIndices(withNan, Pool2dSpec.of(2, 0, 0));
            assertTrue(Double.isNaN(nan.values().item()));
            assertEquals(1, nan.indices().item());
            double[] x = data(31, C * 5 * 5, -1, 1);
            Tensor unbatched = Functional.maxPool2d(Ref.f64(x, C, 5, 5), 2, 1, 1);
            assertShape(unbatched, C, 6, 6);
            Tensor batched = Functional.maxPool2d(Ref.f64(x, 1, C, 5, 5), 2, 1, 1);
            assertClose(batched.toDoubleArray(), unbatched, 0, 0, "unbatched input");
        }
    }

    @BackendTest
    void avgPoolWithAndWithoutPaddingInTheCount(TestDevice device) {
        device.activate();
        for (int[] g : WINDOWS) {
            Pool2dSpec s = spec(g);
            int h = g[0], w = g[1];
            double[] x = data(41 + h * w, N * C * h * w, -2, 2);
            for (boolean include : new boolean[] {true, false}) {
                String what = "avg_pool2d " + s + " count_include_pad=" + include;
                for (DType dt : Ref.floatingTypes()) {
                    try (Scope sc = Scope.open()) {
                        Tensor y = Functional.avgPool2d(Tensor.of(x, dt, null, N, C, h, w), s, include);
                        assertShape(y, N, C, s.outH(h), s.outW(w));
                        assertClose(refAvgPool(x, h, w, s, include), y, Ref.rtol(dt), Ref.atol(dt), what + " " + dt);
                    }
                }
                GradCheck.check(what, t -> Functional.avgPool2d(t, s, include), x, N, C, h, w);
            }
        }
        try (Scope sc = Scope.open()) {
            double[] x = data(51, C * 4 * 4, -1, 1);
            Tensor unbatched = Functional.avgPool2d(Ref.f64(x, C, 4, 4), 2);
            assertShape(unbatched, C, 2, 2);
            assertClose(Functional.avgPool2d(Ref.f64(x, 1, C, 4, 4), 2, 2, 0).toDoubleArray(), unbatched, 1e-15, 0, "unbatched input");
        }
    }

    @BackendTest
    void adaptiveAndGlobalAveragePooling(TestDevice device) {
        device.activate();
        int[][] sizes = {{5, 7, 3, 4}, {4, 4, 2, 2}, {3, 3, 5, 5}, {6, 6, 1, 1}, {7, 5, 7, 5}, {10, 3, 4, 2}};
        for (int[] z : sizes) {
            int h = z[0], w = z[1], oh = z[2], ow = z[3];
            double[] x = data(61 + h * w, N * C * h * w, -2, 2);
            String what = "adaptive_avg_pool2d " + java.util.Arrays.toString(z);
            try (Scope sc = Scope.open()) {
                Tensor y = Functional.adaptiveAvgPool2d(Ref.f64(x, N, C, h, w), oh, ow);
                assertShape(y, N, C, oh, ow);
                assertClose(refAdaptive(x, N * C, h, w, oh, ow), y, 1e-12, 1e-12, what);
                assertClose(refAdaptive(x, N * C, h, w, oh, ow), Functional.adaptiveAvgPool2d(Ref.f32(x, N, C, h, w), oh, ow), 1e-4, 1e-5, what + " f32");
                Tensor unbatched = Functional.adaptiveAvgPool2d(Ref.f64(x, N * C, h, w), oh, ow);
                assertShape(unbatched, N * C, oh, ow);
            }
            GradCheck.check(what, t -> Functional.adaptiveAvgPool2d(t, oh, ow), x, N, C, h, w);
        }
        double[] x = data(71, N * C * 3 * 5, -2, 2);
        try (Scope sc = Scope.open()) {
            Tensor g = Functional.globalAvgPool2d(Ref.f64(x, N, C, 3, 5));
            assertShape(g, N, C, 1, 1);
            assertClose(refAdaptive(x, N * C, 3, 5, 1, 1), g, 1e-12, 1e-12, "global_avg_pool2d");
        }
        GradCheck.check("global_avg_pool2d", Functional::globalAvgPool2d, x, N, C, 3, 5);
    }

    @BackendTest
    void badInputIsRejectedClearly(TestDevice device) {
        device.activate();
        try (Scope sc = Scope.open()) {
            Tensor x = Tensor.ones(1, 1, 4, 4);
            assertMessage(IllegalArgumentException.class, () -> Pool2dSpec.of(2, 2, 2), "pool2d", "padding 2x2", "smaller than the window");
            assertMessage(IllegalArgumentException.class, () -> Pool2dSpec.of(0, 1, 0), "pool2d", "positive");
            assertMessage(IllegalArgumentException.class, () -> Functional.maxPool2d(x, 5), "max_pool2d", "5x5", "[1, 1, 4, 4]");
            assertMessage(IllegalArgumentException.class, () -> Functional.maxPool2d(Tensor.ones(4, 4), 2), "max_pool2d", "[4, 4]");
            assertMessage(IllegalArgumentException.class, () -> Functional.maxPool2d(Tensor.ones(DType.INT64, null, 1, 1, 4, 4), 2), "max_pool2d", "int64");
            assertMessage(IllegalArgumentException.class, () -> Functional.avgPool2d(x, 6), "avg_pool2d", "6x6");
            assertMessage(IllegalArgumentException.class, () -> Functional.adaptiveAvgPool2d(x, 0, 2), "adaptive_avg_pool2d", "0x2");
            assertMessage(IllegalArgumentException.class, () -> Functional.globalAvgPool2d(Tensor.ones(4)), "global_avg_pool2d", "[4]");
        }
    }
}
