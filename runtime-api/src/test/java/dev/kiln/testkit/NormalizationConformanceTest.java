package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import static dev.kiln.testkit.ErrorConformanceTest.assertMessage;
import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** batch_norm (training, running statistics, evaluation), layer_norm and dropout. */
class NormalizationConformanceTest {
    private static final double EPS = 1e-5;

    /** Per-channel mean and biased variance of (n, c, spatial) data: {mean[c], var[c]}. */
    static double[][] channelStats(double[] x, int n, int c, int spatial) {
        double[] mean = new double[c], var = new double[c];
        int count = n * spatial;
        for (int ch = 0; ch < c; ch++) {
            for (int b = 0; b < n; b++)
                for (int i = 0; i < spatial; i++) mean[ch] += x[(b * c + ch) * spatial + i] / count;
            for (int b = 0; b < n; b++)
                for (int i = 0; i < spatial; i++) var[ch] += Math.pow(x[(b * c + ch) * spatial + i] - mean[ch], 2) / count;
        }
        return new double[][] {mean, var};
    }

    /** (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c] over (n, c, spatial). */
    static double[] normalizeChannels(double[] x, int n, int c, int spatial, double[] mean, double[] var, double[] weight, double[] bias) {
        double[] y = new double[x.length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < spatial; i++) {
                    int at = (b * c + ch) * spatial + i;
                    y[at] = (x[at] - mean[ch]) / Math.sqrt(var[ch] + EPS) * weight[ch] + bias[ch];
                }
        return y;
    }

    @BackendTest
    void batchNormTrainingUpdatesRunningStatistics(TestDevice device) {
        device.activate();
        int[][] shapes = {{4, 3}, {2, 3, 2, 2}, {3, 2, 5}};
        for (int[] shape : shapes) {
            int n = shape[0], c = shape[1], spatial = Ref.numel(shape) / (n * c);
            double[] x = data(81, Ref.numel(shape), -2, 3), w = data(82, c, 0.5, 1.5), b = data(83, c, -1, 1);
            double[] rm = data(84, c, -1, 1), rv = data(85, c, 0.5, 2);
            double[][] stats = channelStats(x, n, c, spatial);
            String what = "batch_norm " + java.util.Arrays.toString(shape);
            try (Scope s = Scope.open()) {
                Tensor runningMean = Ref.f64(rm, c), runningVar = Ref.f64(rv, c);
                Tensor y = Functional.batchNorm(Ref.f64(x, shape), runningMean, runningVar, Ref.f64(w, c), Ref.f64(b, c), true, 0.1, EPS);
                assertShape(y, shape);
                assertClose(normalizeChannels(x, n, c, spatial, stats[0], stats[1], w, b), y, 1e-10, 1e-10, what + " training");
                double[] expectedMean = new double[c], expectedVar = new double[c];
                int count = n * spatial;
                for (int ch = 0; ch < c; ch++) {
                    expectedMean[ch] = 0.9 * rm[ch] + 0.1 * stats[0][ch];
                    expectedVar[ch] = 0.9 * rv[ch] + 0.1 * stats[1][ch] * count / (count - 1);
                }
                assertClose(expectedMean, runningMean, 1e-12, 1e-12, what + " running mean");
                assertClose(expectedVar, runningVar, 1e-12, 1e-12, what + " running variance (unbiased)");
                Tensor eval = Functional.batchNorm(Ref.f64(x, shape), runningMean, runningVar, Ref.f64(w, c), Ref.f64(b, c), false, 0.1, EPS);
                assertClose(normalizeChannels(x, n, c, spatial, expectedMean, expectedVar, w, b), eval, 1e-10, 1e-10, what + " evaluation");
                assertClose(expectedMean, runningMean, 0, 0, what + " evaluation leaves running statistics alone");
                double[] ones = Ref.map(new double[c], v -> 1), zeros = new double[c];
                Tensor plain = Functional.batchNorm(Ref.f32(x, shape), null, null, null, null, true, 0.1, EPS);
                assertEquals(DType.FLOAT32, plain.dtype());
                assertClose(normalizeChannels(x, n, c, spatial, stats[0], stats[1], ones, zeros), plain, 1e-4, 1e-4, what + " f32 without affine");
            }
            GradCheck.check(what + " training gradients", t -> Functional.batchNorm(t[0], null, null, t[1], t[2], true, 0.1, EPS),
                    new double[][] {x, w, b}, new int[][] {shape, {c}, {c}});
            GradCheck.check(what + " evaluation gradients", t -> {
                Tensor runningMean = Ref.f64(rm, c), runningVar = Ref.f64(rv, c);
                return Functional.batchNorm(t[0], runningMean, runningVar, t[1], t[2], false, 0.1, EPS);
            }, new double[][] {x, w, b}, new int[][] {shape, {c}, {c}});
        }
    }

    @BackendTest
    void layerNormOverTrailingDimensions(TestDevice device) {
        device.activate();
        int[] shape = {2, 3, 4};
        double[] x = data(91, 24, -2, 2);
        for (int[] normalized : new int[][] {{4}, {3, 4}, {2, 3, 4}}) {
            int size = Ref.numel(normalized), groups = 24 / size;
            double[] w = data(92, size, 0.5, 1.5), b = data(93, size, -1, 1);
            double[] expected = new double[24];
            for (int gi = 0; gi < groups; gi++) {
                double mean = 0, var = 0;
                for (int i = 0; i < size; i++) mean += x[gi * size + i] / size;
                for (int i = 0; i < size; i++) var += Math.pow(x[gi * size + i] - mean, 2) / size;
                for (int i = 0; i < size; i++) expected[gi * size + i] = (x[gi * size + i] - mean) / Math.sqrt(var + EPS) * w[i] + b[i];
            }
            String what = "layer_norm " + java.util.Arrays.toString(normalized);
            try (Scope s = Scope.open()) {
                Tensor y = Functional.layerNorm(Ref.f64(x, shape), normalized, Ref.f64(w, normalized), Ref.f64(b, normalized), EPS);
                assertClose(expected, y, 1e-10, 1e-10, what);
                assertClose(expected, Functional.layerNorm(Ref.f32(x, shape), normalized, Ref.f32(w, normalized), Ref.f32(b, normalized), EPS),
                        1e-4, 1e-4, what + " f32");
                Tensor plain = Functional.layerNorm(Ref.f64(x, shape), normalized, null, null, EPS);
                double[] mean = plain.reshape(groups, size).mean(new int[] {1}, false).toDoubleArray();
                assertClose(new double[groups], mean, 0, 1e-12, what + " without affine has zero mean");
            }
            GradCheck.check(what, t -> Functional.layerNorm(t[0], normalized, t[1], t[2], EPS),
                    new double[][] {x, w, b}, new int[][] {shape, normalized, normalized});
        }
    }

    /**
     * Layer norm in float64 of x seen as (groups, size) rows: {output, mean per row, invStd per row}. Weight and bias
     * (of the row's size) may be null.
     */
    static double[][] layerNormReference(double[] x, int size, double[] w, double[] b, double eps) {
        int groups = x.length / size;
        double[] y = new double[x.length], mean = new double[groups], invStd = new double[groups];
        for (int gi = 0; gi < groups; gi++) {
            double m = 0, var = 0;
            for (int i = 0; i < size; i++) m += x[gi * size + i] / size;
            for (int i = 0; i < size; i++) var += Math.pow(x[gi * size + i] - m, 2) / size;
            mean[gi] = m;
            invStd[gi] = 1 / Math.sqrt(var + eps);
            for (int i = 0; i < size; i++)
                y[gi * size + i] = (x[gi * size + i] - m) * invStd[gi] * (w == null ? 1 : w[i]) + (b == null ? 0 : b[i]);
        }
        return new double[][] {y, mean, invStd};
    }

    /** Row-major values of a 2-d (rows, cols) array transposed to (cols, rows). */
    static double[] transposed(double[] x, int rows, int cols) {
        double[] t = new double[x.length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[j * rows + i] = x[i * cols + j];
        return t;
    }

    /**
     * The fused path against a float64 reference: rows longer than a vector and not a multiple of one, one and two
     * normalised dimensions, each of weight and bias alone, float32 and float64, and the statistics it returns.
     */
    @BackendTest
    void fusedLayerNormMatchesAFloat64Reference(TestDevice device) {
        device.activate();
        int[][][] cases = {{{5, 37}, {37}}, {{3, 2, 40}, {2, 40}}, {{2, 3, 300}, {300}}, {{7, 1}, {1}}};
        for (int[][] c : cases) {
            int[] shape = c[0], normalized = c[1];
            int size = Ref.numel(normalized), n = Ref.numel(shape);
            double[] x = data(101, n, -3, 5), w = data(102, size, 0.5, 1.5), b = data(103, size, -1, 1);
            int[] statsShape = shape.clone();
            java.util.Arrays.fill(statsShape, shape.length - normalized.length, shape.length, 1);
            for (boolean withWeight : new boolean[] {true, false}) {
                for (boolean withBias : new boolean[] {true, false}) {
                    double[] wv = withWeight ? w : null, bv = withBias ? b : null;
                    double[][] expected = layerNormReference(x, size, wv, bv, EPS);
                    String what = "layer_norm " + java.util.Arrays.toString(shape) + " over " + java.util.Arrays.toString(normalized)
                            + (withWeight ? " weight" : "") + (withBias ? " bias" : "");
                    try (Scope s = Scope.open()) {
                        for (DType t : Ref.floatingTypes()) {
                            double tol = t == DType.FLOAT64 ? 1e-10 : 2e-5;
                            Tensor xt = Tensor.of(x, t, null, shape);
                            Functional.NormalizedWithStatistics r = Functional.layerNormWithStatistics(xt, normalized,
                                    withWeight ? Tensor.of(w, t, null, normalized) : null, withBias ? Tensor.of(b, t, null, normalized) : null, EPS);
                            assertEquals(t, r.output().dtype(), what);
                            assertShape(r.output(), shape);
                            assertShape(r.mean(), statsShape);
                            assertShape(r.invStd(), statsShape);
                            assertClose(expected[0], r.output(), tol, tol, what + " " + t);
                            assertClose(expected[1], r.mean(), tol, tol, what + " " + t + " mean");
                            assertClose(expected[2], r.invStd(), tol, tol * 10, what + " " + t + " invStd");
                        }
                    }
                }
            }
        }
        TestDevice.requireFloat64();
    }

    @BackendTest
    void layerNormOfANonContiguousInput(TestDevice device) {
        device.activate();
        int rows = 6, cols = 35;
        double[] stored = data(111, rows * cols, -2, 2), w = data(112, rows, 0.5, 1.5), b = data(113, rows, -1, 1);
        // Stored (rows, cols); normalised as its transpose (cols, rows), whose rows are strided.
        double[][] expected = layerNormReference(transposed(stored, rows, cols), rows, w, b, EPS);
        try (Scope s = Scope.open()) {
            Tensor x = Ref.f64(stored, rows, cols).t();
            assertClose(expected[0], Functional.layerNorm(x, new int[] {rows}, Ref.f64(w, rows), Ref.f64(b, rows), EPS), 1e-10, 1e-10,
                    "layer_norm of a transposed input");
            assertClose(expected[0], Functional.layerNorm(Ref.f32(stored, rows, cols).t(), new int[] {rows}, Ref.f32(w, rows), Ref.f32(b, rows), EPS),
                    2e-5, 2e-5, "layer_norm of a transposed float32 input");
        }
        GradCheck.check("layer_norm of a transposed input", t -> Functional.layerNorm(t[0].t(), new int[] {rows}, t[1], t[2], EPS),
                new double[][] {stored, w, b}, new int[][] {{rows, cols}, {rows}, {rows}});
    }

    @BackendTest
    void layerNormGradientsWithAndWithoutAffine(TestDevice device) {
        device.activate();
        for (int[][] c : new int[][][] {{{3, 17}, {17}}, {{2, 3, 5}, {3, 5}}}) {
            int[] shape = c[0], normalized = c[1];
            int size = Ref.numel(normalized);
            double[] x = data(121, Ref.numel(shape), -2, 3), w = data(122, size, 0.5, 1.5), b = data(123, size, -1, 1);
            String what = "layer_norm " + java.util.Arrays.toString(shape) + " over " + java.util.Arrays.toString(normalized);
            GradCheck.check(what + " weight only", t -> Functional.layerNorm(t[0], normalized, t[1], null, EPS),
                    new double[][] {x, w}, new int[][] {shape, normalized});
            GradCheck.check(what + " bias only", t -> Functional.layerNorm(t[0], normalized, null, t[1], EPS),
                    new double[][] {x, b}, new int[][] {shape, normalized});
            GradCheck.check(what + " no affine", t -> Functional.layerNorm(t, normalized, null, null, EPS), x, shape);
            GradCheck.check(what + " statistics", t -> {
                Functional.NormalizedWithStatistics r = Functional.layerNormWithStatistics(t[0], normalized, t[1], t[2], EPS);
                return r.output().add(r.mean().mul(3)).add(r.invStd().mul(2));
            }, new double[][] {x, w, b}, new int[][] {shape, normalized, normalized});
        }
    }

    /**
     * Gradients reach only the inputs that ask for them: a constant input with a trainable weight and bias (the
     * weight gradient is the column sum of dy * xhat, the bias gradient that of dy), and a broadcast upstream
     * gradient, as {@code sum().backward()} gives.
     */
    @BackendTest
    void layerNormWeightGradientsOfAConstantInput(TestDevice device) {
        device.activate();
        int rows = 4, cols = 21;
        double[] x = data(131, rows * cols, -2, 2), w = data(132, cols, 0.5, 1.5), b = data(133, cols, -1, 1);
        double[][] ref = layerNormReference(x, cols, null, null, EPS);
        double[] expectedW = new double[cols], expectedB = new double[cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) {
                expectedW[j] += ref[0][i * cols + j];
                expectedB[j] += 1;
            }
        try (Scope s = Scope.open()) {
            Tensor input = Ref.f64(x, rows, cols);
            Tensor weight = Ref.f64(w, cols).requiresGrad(true), bias = Ref.f64(b, cols).requiresGrad(true);
            Functional.layerNorm(input, new int[] {cols}, weight, bias, EPS).sum().backward();
            assertClose(expectedW, weight.grad(), 1e-10, 1e-10, "weight gradient");
            assertClose(expectedB, bias.grad(), 1e-12, 1e-12, "bias gradient");
            assertEquals(null, input.grad(), "a constant input gets no gradient");
            Tensor x2 = Ref.f64(x, rows, cols).requiresGrad(true);
            Functional.layerNorm(x2, new int[] {cols}, null, null, EPS).sum().backward();
            // The normalised rows always sum to zero, so their sum has a zero gradient.
            assertClose(new double[rows * cols], x2.grad(), 0, 1e-10, "gradient of sum(layer_norm(x))");
        }
    }

    /** Half inputs compute in float32, as the composed ops did; an empty batch gives empty outputs. */
    @BackendTest
    void layerNormOfHalfAndEmptyInputs(TestDevice device) {
        device.activate();
        int rows = 3, cols = 24;
        double[] x = data(141, rows * cols, -2, 2), w = data(142, cols, 0.5, 1.5);
        try (Scope s = Scope.open()) {
            for (DType half : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
                Tensor xh = Tensor.of(x, half, null, rows, cols);
                double[] rounded = xh.toDoubleArray();
                Tensor y = Functional.layerNorm(xh, new int[] {cols}, Tensor.of(w, half, null, cols), null, EPS);
                double[] wr = Tensor.of(w, half, null, cols).toDoubleArray();
                assertClose(layerNormReference(rounded, cols, wr, null, EPS)[0], y, 1e-2, 1e-2, "layer_norm of " + half);
            }
            Tensor empty = Tensor.zeros(DType.FLOAT32, null, 0, cols).requiresGrad(true);
            Tensor weight = Ref.f32(w, cols).requiresGrad(true);
            Functional.NormalizedWithStatistics r = Functional.layerNormWithStatistics(empty, new int[] {cols}, weight, null, EPS);
            assertShape(r.output(), 0, cols);
            assertShape(r.mean(), 0, 1);
            r.output().sum().backward();
            assertClose(new double[cols], weight.grad(), 0, 0, "an empty batch gives a zero weight gradient");
        }
    }

    @BackendTest
    void dropoutMasksScalesAndReproduces(TestDevice device) {
        device.activate();
        int n = 20000;
        double p = 0.3;
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.full(2.0, DType.FLOAT32, null, n).requiresGrad(true);
            Kiln.manualSeed(7);
            Tensor y = Functional.dropout(x, p, true);
            double[] v = y.toDoubleArray();
            int zeros = 0;
            for (double d : v) {
                if (d == 0) zeros++;
                else assertEquals(2.0 / (1 - p), d, 1e-6, "survivors are scaled by 1 / (1 - p)");
            }
            // Binomial(20000, 0.3): the standard deviation of the fraction is about 0.0032.
            assertEquals(p, zeros / (double) n, 0.02, "fraction dropped");
            y.sum().backward();
            double[] g = x.grad().toDoubleArray();
            for (int i = 0; i < n; i++) assertEquals(v[i] / 2.0, g[i], 1e-12, "gradient is the scaled mask");
            Kiln.manualSeed(7);
            assertArrayEquals(v, Functional.dropout(x, p, true).toDoubleArray(), "the same seed gives the same mask");
            assertTrue(zeros > 0);
            assertSame(x, Functional.dropout(x, p, false), "evaluation is the identity");
            assertSame(x, Functional.dropout(x, 0, true), "p = 0 is the identity");
            assertClose(new double[n], Functional.dropout(x, 1, true), 0, 0, "p = 1 drops everything");
        }
    }

    @BackendTest
    void badInputIsRejectedClearly(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.ones(4, 3, 2, 2);
            assertMessage(IllegalArgumentException.class, () -> Functional.batchNorm(x, Tensor.zeros(2), Tensor.ones(2), null, null, true, 0.1, EPS),
                    "batch_norm", "[2]", "size 3");
            assertMessage(IllegalArgumentException.class, () -> Functional.batchNorm(x, Tensor.zeros(3), null, null, null, true, 0.1, EPS),
                    "batch_norm", "together");
            assertMessage(IllegalArgumentException.class, () -> Functional.batchNorm(Tensor.ones(1, 3), null, null, null, null, true, 0.1, EPS),
                    "batch_norm", "more than 1 value per channel");
            assertMessage(IllegalArgumentException.class, () -> Functional.batchNorm(Tensor.ones(3), null, null, null, null, true, 0.1, EPS),
                    "batch_norm", "[3]");
            assertMessage(IllegalArgumentException.class, () -> Functional.layerNorm(x, new int[] {3}, null, null, EPS), "layer_norm", "[3]", "[4, 3, 2, 2]");
            assertMessage(IllegalArgumentException.class, () -> Functional.layerNorm(x, new int[] {2}, Tensor.ones(3), null, EPS), "layer_norm", "[2]");
            assertMessage(IllegalArgumentException.class, () -> Functional.layerNorm(x, new int[] {2, 2}, null, Tensor.ones(4), EPS),
                    "layer_norm", "[2, 2]", "[4]", "[4, 3, 2, 2]");
            assertMessage(IllegalArgumentException.class, () -> Functional.layerNorm(x, new int[0], null, null, EPS), "layer_norm", "non-empty");
            assertMessage(IllegalArgumentException.class, () -> Functional.layerNorm(Tensor.ones(DType.INT64, null, 2, 3), new int[] {3}, null, null, EPS),
                    "layer_norm", "[3]", "int64");
            assertMessage(IllegalArgumentException.class, () -> Functional.layerNormWithStatistics(x, new int[] {3, 2, 2, 2, 2}, null, null, EPS),
                    "layer_norm", "[3, 2, 2, 2, 2]", "[4, 3, 2, 2]", "float32");
            assertMessage(IllegalArgumentException.class, () -> Functional.dropout(x, 1.5, true), "dropout", "1.5");
            assertMessage(IllegalArgumentException.class, () -> Functional.dropout(Tensor.ones(DType.INT64, null, 3), 0.5, true), "dropout", "int64");
        }
    }
}
