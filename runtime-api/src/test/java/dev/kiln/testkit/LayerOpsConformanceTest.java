package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import static dev.kiln.testkit.ErrorConformanceTest.assertMessage;
import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The composite layer ops: conv1d, group_norm, instance_norm, interpolate (nearest, linear, bilinear), embedding's
 * padding_idx and max_norm, normalize and cosine_similarity; values against float64 references (interpolate's
 * against PyTorch's outputs), gradients by finite differences.
 */
class LayerOpsConformanceTest {
    private static final double EPS = 1e-5;

    /** Direct 1-D cross-correlation of (n, cin, l) with (cout, cin / groups, k). */
    private static double[] conv1dReference(double[] x, int n, int cin, int l, double[] w, int cout, int k, double[] bias,
                                            int stride, int padding, int dilation, int groups) {
        int ol = (l + 2 * padding - dilation * (k - 1) - 1) / stride + 1, perGroupIn = cin / groups, perGroupOut = cout / groups;
        double[] y = new double[n * cout * ol];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cout; o++)
                for (int t = 0; t < ol; t++) {
                    double acc = bias == null ? 0 : bias[o];
                    for (int ci = 0; ci < perGroupIn; ci++)
                        for (int j = 0; j < k; j++) {
                            int at = t * stride - padding + j * dilation;
                            if (at >= 0 && at < l) acc += x[(b * cin + (o / perGroupOut) * perGroupIn + ci) * l + at] * w[(o * perGroupIn + ci) * k + j];
                        }
                    y[(b * cout + o) * ol + t] = acc;
                }
        return y;
    }

    @BackendTest
    void conv1dMatchesDirectCorrelation(TestDevice device) {
        device.activate();
        // {n, cin, l, cout, k, stride, padding, dilation, groups}
        int[][] cases = {{2, 3, 9, 4, 3, 1, 0, 1, 1}, {1, 4, 10, 6, 3, 2, 1, 2, 2}, {2, 2, 5, 2, 1, 1, 2, 1, 1}};
        for (int[] c : cases) {
            int n = c[0], cin = c[1], l = c[2], cout = c[3], k = c[4], stride = c[5], padding = c[6], dilation = c[7], groups = c[8];
            double[] x = data(1, n * cin * l, -1, 1), w = data(2, cout * cin / groups * k, -1, 1), b = data(3, cout, -1, 1);
            String what = "conv1d " + java.util.Arrays.toString(c);
            try (Scope s = Scope.open()) {
                Tensor y = Functional.conv1d(Ref.f64(x, n, cin, l), Ref.f64(w, cout, cin / groups, k), Ref.f64(b, cout), stride, padding, dilation, groups);
                int ol = (l + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
                assertShape(y, n, cout, ol);
                assertClose(conv1dReference(x, n, cin, l, w, cout, k, b, stride, padding, dilation, groups), y, 1e-10, 1e-10, what);
                Tensor unbatched = Functional.conv1d(Ref.f64(x, n, cin, l).select(0, 0), Ref.f64(w, cout, cin / groups, k), null, stride, padding, dilation, groups);
                assertShape(unbatched, cout, ol);
            }
            GradCheck.check(what + " gradients", t -> Functional.conv1d(t[0], t[1], t[2], stride, padding, dilation, groups),
                    new double[][] {x, w, b}, new int[][] {{n, cin, l}, {cout, cin / groups, k}, {cout}});
        }
        try (Scope s = Scope.open()) {
            assertMessage(IllegalArgumentException.class, () -> Functional.conv1d(Tensor.zeros(2, 3, 8), Tensor.zeros(4, 2, 3), null, 1, 0, 1, 1),
                    "conv1d", "[2, 3, 8]", "[4, 2, 3]", "groups=1");
            assertMessage(IllegalArgumentException.class, () -> Functional.conv1d(Tensor.zeros(2, 3, 2), Tensor.zeros(4, 3, 5), null, 1, 0, 1, 1),
                    "conv1d", "kernel 5");
        }
    }

    /** (x - mean) / sqrt(var + eps) over each (sample, group) of (n, c, spatial), then weight[c] and bias[c]. */
    private static double[] groupNormReference(double[] x, int n, int c, int spatial, int groups, double[] weight, double[] bias) {
        double[] y = new double[x.length];
        int size = c / groups * spatial;
        for (int row = 0; row < n * groups; row++) {
            double mean = 0, var = 0;
            for (int i = 0; i < size; i++) mean += x[row * size + i] / size;
            for (int i = 0; i < size; i++) var += Math.pow(x[row * size + i] - mean, 2) / size;
            for (int i = 0; i < size; i++) {
                int channel = (row % groups) * (c / groups) + i / spatial;
                y[row * size + i] = (x[row * size + i] - mean) / Math.sqrt(var + EPS) * (weight == null ? 1 : weight[channel]) + (bias == null ? 0 : bias[channel]);
            }
        }
        return y;
    }

    @BackendTest
    void groupNormNormalisesEachGroup(TestDevice device) {
        device.activate();
        int[][] shapes = {{2, 6, 5}, {3, 4, 2, 3}, {2, 4}};
        for (int[] shape : shapes) {
            int n = shape[0], c = shape[1], spatial = Ref.numel(shape) / (n * c);
            for (int groups : new int[] {1, 2, c}) {
                if (groups == c && spatial == 1) continue;
                double[] x = data(11, Ref.numel(shape), -2, 3), w = data(12, c, 0.5, 1.5), b = data(13, c, -1, 1);
                String what = "group_norm " + java.util.Arrays.toString(shape) + " groups " + groups;
                try (Scope s = Scope.open()) {
                    Tensor y = Functional.groupNorm(Ref.f64(x, shape), groups, Ref.f64(w, c), Ref.f64(b, c), EPS);
                    assertShape(y, shape);
                    assertClose(groupNormReference(x, n, c, spatial, groups, w, b), y, 1e-10, 1e-10, what);
                    Tensor plain = Functional.groupNorm(Ref.f32(x, shape), groups, null, null, EPS);
                    assertClose(groupNormReference(x, n, c, spatial, groups, null, null), plain, 1e-4, 1e-4, what + " f32 without affine");
                }
                GradCheck.check(what + " gradients", t -> Functional.groupNorm(t[0], groups, t[1], t[2], EPS),
                        new double[][] {x, w, b}, new int[][] {shape, {c}, {c}});
            }
        }
        try (Scope s = Scope.open()) {
            assertMessage(IllegalArgumentException.class, () -> Functional.groupNorm(Tensor.zeros(2, 6, 3), 4, null, null, EPS), "group_norm", "4 groups", "[2, 6, 3]");
            assertMessage(IllegalArgumentException.class, () -> Functional.groupNorm(Tensor.zeros(2, 6, 3), 3, Tensor.ones(4), null, EPS), "group_norm", "[4]", "size 6");
        }
    }

    @BackendTest
    void instanceNormUsesAndTracksPerInstanceStatistics(TestDevice device) {
        device.activate();
        int n = 3, c = 2, h = 2, w = 3, spatial = h * w;
        double[] x = data(21, n * c * spatial, -2, 3), weight = data(22, c, 0.5, 1.5), bias = data(23, c, -1, 1);
        double[] rm = data(24, c, -1, 1), rv = data(25, c, 0.5, 2);
        try (Scope s = Scope.open()) {
            Tensor runningMean = Ref.f64(rm, c), runningVar = Ref.f64(rv, c);
            Tensor y = Functional.instanceNorm(Ref.f64(x, n, c, h, w), runningMean, runningVar, Ref.f64(weight, c), Ref.f64(bias, c), true, 0.1, EPS);
            assertClose(groupNormReference(x, n, c, spatial, c, weight, bias), y, 1e-10, 1e-10, "instance_norm with input statistics");
            double[] expectedMean = new double[c], expectedVar = new double[c];
            for (int ch = 0; ch < c; ch++) {
                double meanOfMeans = 0, meanOfVars = 0;
                for (int b = 0; b < n; b++) {
                    double mean = 0, var = 0;
                    for (int i = 0; i < spatial; i++) mean += x[(b * c + ch) * spatial + i] / spatial;
                    for (int i = 0; i < spatial; i++) var += Math.pow(x[(b * c + ch) * spatial + i] - mean, 2) / (spatial - 1);
                    meanOfMeans += mean / n;
                    meanOfVars += var / n;
                }
                expectedMean[ch] = 0.9 * rm[ch] + 0.1 * meanOfMeans;
                expectedVar[ch] = 0.9 * rv[ch] + 0.1 * meanOfVars;
            }
            assertClose(expectedMean, runningMean, 1e-12, 1e-12, "instance_norm running mean");
            assertClose(expectedVar, runningVar, 1e-12, 1e-12, "instance_norm running variance (unbiased)");
            Tensor eval = Functional.instanceNorm(Ref.f64(x, n, c, h, w), runningMean, runningVar, null, null, false, 0.1, EPS);
            double[] expectedEval = new double[x.length];
            for (int i = 0; i < x.length; i++) {
                int ch = (i / spatial) % c;
                expectedEval[i] = (x[i] - expectedMean[ch]) / Math.sqrt(expectedVar[ch] + EPS);
            }
            assertClose(expectedEval, eval, 1e-10, 1e-10, "instance_norm with running statistics");
            assertMessage(IllegalArgumentException.class, () -> Functional.instanceNorm(Tensor.zeros(2, 3, 1), null, null, null, null, true, 0.1, EPS),
                    "instance_norm", "more than 1", "[2, 3, 1]");
            assertMessage(IllegalArgumentException.class, () -> Functional.instanceNorm(Tensor.zeros(2, 3, 4), null, null, null, null, false, 0.1, EPS),
                    "instance_norm", "running");
        }
        GradCheck.check("instance_norm gradients", t -> Functional.instanceNorm(t[0], null, null, t[1], t[2], true, 0.1, EPS),
                new double[][] {x, weight, bias}, new int[][] {{n, c, h, w}, {c}, {c}});
    }

    @BackendTest
    void interpolateMatchesPyTorch(TestDevice device) {
        device.activate();
        double[] square = {1, 2, 3, 4};
        try (Scope s = Scope.open()) {
            Tensor image = Ref.f64(square, 1, 1, 2, 2);
            assertClose(new double[] {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4},
                    Functional.interpolate(image, new int[] {4, 4}, "bilinear", false), 1e-12, 1e-12, "bilinear 2x2 -> 4x4");
            assertClose(new double[] {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4},
                    Functional.interpolate(image, 2.0, "bilinear", false), 1e-12, 1e-12, "bilinear scale factor 2");
            assertClose(new double[] {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4},
                    Functional.interpolate(image, new int[] {3, 3}, "bilinear", true), 1e-12, 1e-12, "bilinear 2x2 -> 3x3, align_corners");
            assertClose(new double[] {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4},
                    Functional.interpolate(image, 2.0, "nearest", false), 0, 0, "nearest scale factor 2");
            Tensor line = Ref.f64(new double[] {1, 2, 3}, 1, 1, 3);
            assertClose(new double[] {1, 1.4, 2, 2.6, 3}, Functional.interpolate(line, new int[] {5}, "linear", false), 1e-12, 1e-12, "linear 3 -> 5");
            assertClose(new double[] {1, 1.5, 2, 2.5, 3}, Functional.interpolate(line, new int[] {5}, "linear", true), 1e-12, 1e-12, "linear 3 -> 5, align_corners");
            Tensor six = Ref.f64(new double[] {0, 1, 2, 3, 4, 5}, 1, 1, 6);
            assertClose(new double[] {0, 1, 3, 4}, Functional.interpolate(six, new int[] {4}, "nearest", false), 0, 0, "nearest 6 -> 4");
            assertClose(new double[] {0.25, 1.75, 3.25, 4.75}, Functional.interpolate(six, new int[] {4}, "linear", false), 1e-12, 1e-12, "linear 6 -> 4");
            Tensor ints = Tensor.of(new int[] {7, 8, 9, 10}, 1, 1, 2, 2);
            Tensor nearestInts = Functional.interpolate(ints, new int[] {3, 2}, "nearest", false);
            assertArrayEquals(new int[] {7, 8, 7, 8, 9, 10}, nearestInts.toIntArray(), "nearest keeps integer types");
            assertMessage(IllegalArgumentException.class, () -> Functional.interpolate(image, new int[] {4, 4}, "bicubic", false), "interpolate", "bicubic");
            assertMessage(IllegalArgumentException.class, () -> Functional.interpolate(image, new int[] {4, 4}, "nearest", true), "interpolate", "align_corners");
            assertMessage(IllegalArgumentException.class, () -> Functional.interpolate(image, new int[] {4}, "linear", false), "interpolate", "[1, 1, 2, 2]");
        }
        double[] x = data(31, 2 * 3 * 3 * 4, -1, 1);
        for (boolean align : new boolean[] {false, true})
            GradCheck.check("bilinear gradients, align_corners " + align, t -> Functional.interpolate(t, new int[] {5, 7}, "bilinear", align), x, 2, 3, 3, 4);
        GradCheck.check("bilinear downsampling gradients", t -> Functional.interpolate(t, new int[] {2, 3}, "bilinear", false), x, 2, 3, 3, 4);
        GradCheck.check("nearest gradients", t -> Functional.interpolate(t, 1.5, "nearest", false), x, 2, 3, 3, 4);
        GradCheck.check("linear gradients", t -> Functional.interpolate(t, new int[] {9}, "linear", false), data(32, 2 * 3 * 4, -1, 1), 2, 3, 4);
    }

    @BackendTest
    void embeddingPaddingIdxAndMaxNorm(TestDevice device) {
        device.activate();
        int rows = 5, dim = 3;
        double[] table = data(41, rows * dim, -2, 2);
        try (Scope s = Scope.open()) {
            Tensor weight = Ref.f64(table, rows, dim).requiresGrad(true);
            Tensor indices = Tensor.of(new int[] {1, 4, 1, 2, 4, 0}, 2, 3);
            Tensor out = Functional.embedding(indices, weight, -1, null, 2);
            assertShape(out, 2, 3, dim);
            double[] expected = new double[6 * dim];
            int[] picked = {1, 4, 1, 2, 4, 0};
            for (int i = 0; i < picked.length; i++) System.arraycopy(table, picked[i] * dim, expected, i * dim, dim);
            assertClose(expected, out, 0, 0, "embedding with padding_idx looks the padding row up as any other");
            out.sum().backward();
            double[] grad = new double[rows * dim];
            for (int p : picked) if (p != 4) for (int j = 0; j < dim; j++) grad[p * dim + j] += 1;
            assertClose(grad, weight.grad(), 0, 0, "embedding gradient: none for padding_idx -1 (row 4), one per lookup elsewhere");

            Tensor renormed = Ref.f64(table, rows, dim);
            double maxNorm = 1.0;
            Tensor looked = Functional.embedding(Tensor.of(new int[] {0, 2, 2}, 3), renormed, null, maxNorm, 2);
            double[] after = table.clone();
            for (int r : new int[] {0, 2}) {
                double norm = 0;
                for (int j = 0; j < dim; j++) norm += table[r * dim + j] * table[r * dim + j];
                norm = Math.sqrt(norm);
                if (norm > maxNorm) for (int j = 0; j < dim; j++) after[r * dim + j] = table[r * dim + j] * maxNorm / (norm + 1e-7);
            }
            assertClose(after, renormed, 1e-12, 1e-12, "max_norm renormalises the looked-up rows in place, and only those");
            double[] lookedExpected = new double[3 * dim];
            for (int i = 0; i < 3; i++) System.arraycopy(after, new int[] {0, 2, 2}[i] * dim, lookedExpected, i * dim, dim);
            assertClose(lookedExpected, looked, 1e-12, 1e-12, "max_norm lookups read the renormalised rows");
            assertMessage(IllegalArgumentException.class, () -> Functional.embedding(indices, weight, 5, null, 2), "embedding", "padding_idx 5", "[5, 3]");
            assertMessage(IllegalArgumentException.class, () -> Functional.embedding(indices, weight, null, -1.0, 2), "embedding", "max_norm");
        }
        GradCheck.check("embedding with max_norm: gradient through the renormalised rows",
                t -> Functional.embedding(Tensor.of(new int[] {3, 1, 3}, 3), t, null, 10.0, 2), table, rows, dim);
    }

    @BackendTest
    void normalizeAndCosineSimilarity(TestDevice device) {
        device.activate();
        int rows = 4, dim = 5;
        double[] a = data(51, rows * dim, -1, 1), b = data(52, rows * dim, -1, 1);
        a[0] = a[1] = a[2] = a[3] = a[4] = 0;  // a zero row: divided by eps, not NaN
        double[] unit = new double[a.length], cosine = new double[rows];
        for (int r = 0; r < rows; r++) {
            double na = 0, nb = 0, dot = 0;
            for (int j = 0; j < dim; j++) {
                na += a[r * dim + j] * a[r * dim + j];
                nb += b[r * dim + j] * b[r * dim + j];
                dot += a[r * dim + j] * b[r * dim + j];
            }
            na = Math.max(Math.sqrt(na), 1e-8);
            nb = Math.max(Math.sqrt(nb), 1e-8);
            for (int j = 0; j < dim; j++) unit[r * dim + j] = a[r * dim + j] / Math.max(na, 1e-12);
            cosine[r] = dot / (na * nb);
        }
        try (Scope s = Scope.open()) {
            assertClose(unit, Functional.normalize(Ref.f64(a, rows, dim), 2, 1, 1e-12), 1e-12, 1e-12, "normalize p=2 dim=1");
            Tensor sim = Functional.cosineSimilarity(Ref.f64(a, rows, dim), Ref.f64(b, rows, dim), 1, 1e-8);
            assertShape(sim, rows);
            assertClose(cosine, sim, 1e-12, 1e-12, "cosine_similarity dim=1");
            Tensor broadcast = Functional.cosineSimilarity(Ref.f64(a, rows, dim), Ref.f64(b, rows, dim).select(0, 1).unsqueeze(0), -1, 1e-8);
            assertShape(broadcast, rows);
            Tensor columns = Functional.cosineSimilarity(Ref.f64(a, rows, dim).t(), Ref.f64(b, rows, dim).t(), 0, 1e-8);
            assertClose(cosine, columns, 1e-12, 1e-12, "cosine_similarity dim=0");
            assertMessage(IllegalArgumentException.class, () -> Functional.normalize(Tensor.of(new int[] {1, 2}, 2), 2, 0, 1e-12), "normalize", "int32");
        }
        double[] nonzero = data(53, rows * dim, -1, 1);
        GradCheck.check("normalize gradients", t -> Functional.normalize(t, 2, 1, 1e-12), nonzero, rows, dim);
        GradCheck.check("normalize p=1 dim=0 gradients", t -> Functional.normalize(t, 1, 0, 1e-12), nonzero, rows, dim);
        GradCheck.check("cosine_similarity gradients", t -> Functional.cosineSimilarity(t[0], t[1], 1, 1e-8),
                new double[][] {nonzero, b}, new int[][] {{rows, dim}, {rows, dim}});
    }
}
