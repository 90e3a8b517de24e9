package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Reductions over axis sets, with keepdim, against host loops over a (2, 3, 4) input; softmax; logsumexp. */
class ReductionConformanceTest {
    private static final int[] SHAPE = {2, 3, 4};
    private static final int[][] AXES = {{}, {0}, {1}, {2}, {-1}, {0, 2}, {1, 2}, {0, 1, 2}};

    /** Reduces a (2,3,4) array over axes with f applied to the list of values of each output element. */
    static double[] reduceRef(double[] x, int[] axes, java.util.function.ToDoubleFunction<double[]> f) {
        boolean[] red = new boolean[3];
        if (axes.length == 0) red[0] = red[1] = red[2] = true;
        for (int a : axes) red[(a + 3) % 3] = true;
        int[] outShape = new int[3];
        for (int d = 0; d < 3; d++) outShape[d] = red[d] ? 1 : SHAPE[d];
        int n = Ref.numel(outShape);
        double[] out = new double[n];
        for (int o = 0; o < n; o++) {
            int o0 = o / (outShape[1] * outShape[2]), o1 = (o / outShape[2]) % outShape[1], o2 = o % outShape[2];
            java.util.List<Double> vals = new java.util.ArrayList<>();
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    for (int k = 0; k < 4; k++)
                        if ((red[0] || i == o0) && (red[1] || j == o1) && (red[2] || k == o2)) vals.add(x[(i * 3 + j) * 4 + k]);
            out[o] = f.applyAsDouble(vals.stream().mapToDouble(Double::doubleValue).toArray());
        }
        return out;
    }

    private static double sum(double[] v) { return java.util.Arrays.stream(v).sum(); }

    private static double var(double[] v) {
        double m = sum(v) / v.length, s = 0;
        for (double x : v) s += (x - m) * (x - m);
        return s / (v.length - 1);
    }

    @BackendTest
    void reductionsOverEveryAxisSet(TestDevice device) {
        device.activate();
        double[] x = data(11, 24, -2, 2);
        for (int[] axes : AXES) {
            for (boolean keep : new boolean[] {false, true}) {
                String what = java.util.Arrays.toString(axes) + " keepdim=" + keep;
                try (Scope s = Scope.open()) {
                    Tensor t = Ref.f64(x, SHAPE);
                    assertClose(reduceRef(x, axes, ReductionConformanceTest::sum), t.sum(axes, keep), 1e-12, 1e-12, "sum " + what);
                    assertClose(reduceRef(x, axes, v -> sum(v) / v.length), t.mean(axes, keep), 1e-12, 1e-12, "mean " + what);
                    assertClose(reduceRef(x, axes, ReductionConformanceTest::var), t.var(axes, keep), 1e-10, 1e-12, "var " + what);
                    assertClose(reduceRef(x, axes, v -> Math.sqrt(var(v))), t.std(axes, keep), 1e-10, 1e-12, "std " + what);
                    assertClose(reduceRef(x, axes, v -> java.util.Arrays.stream(v).max().orElseThrow()), t.amax(axes, keep), 0, 0, "amax " + what);
                    assertClose(reduceRef(x, axes, v -> java.util.Arrays.stream(v).min().orElseThrow()), t.amin(axes, keep), 0, 0, "amin " + what);
                    assertClose(reduceRef(x, axes, v -> java.util.Arrays.stream(v).reduce(1, (a, b) -> a * b)), t.prod(axes, keep), 1e-12, 1e-12, "prod " + what);
                    assertClose(reduceRef(x, axes, v -> Math.log(java.util.Arrays.stream(v).map(Math::exp).sum())), t.logsumexp(axes, keep), 1e-12, 1e-12, "logsumexp " + what);
                    Tensor f32 = Ref.f32(x, SHAPE).sum(axes, keep);
                    assertEquals(DType.FLOAT32, f32.dtype());
                    assertClose(reduceRef(x, axes, ReductionConformanceTest::sum), f32, 1e-5, 1e-5, "sum f32 " + what);
                    if (keep) assertEquals(3, t.sum(axes, true).dim());
                }
                GradCheck.check("sum " + what, t -> t.sum(axes, keep), x, SHAPE);
                GradCheck.check("mean " + what, t -> t.mean(axes, keep), x, SHAPE);
                GradCheck.check("var " + what, t -> t.var(axes, keep), x, SHAPE);
                GradCheck.check("amax " + what, t -> t.amax(axes, keep), x, SHAPE);
                GradCheck.check("logsumexp " + what, t -> t.logsumexp(axes, keep), x, SHAPE);
                GradCheck.check("prod " + what, t -> t.prod(axes, keep), x, SHAPE);
            }
        }
    }

    /**
     * float32 sums over a long leading axis, kept axes after it: the CPU splits such column sums over its pool by
     * columns and runs them in blocks of rows and columns, with tails of both here (331 columns, 2053 rows).
     */
    @BackendTest
    void columnSumsOfTallFloat32(TestDevice device) {
        device.activate();
        for (int[] shape : new int[][] {{2053, 331}, {3, 2053, 40}}) {
            int outer = shape.length == 3 ? shape[0] : 1, rows = shape[shape.length - 2], cols = shape[shape.length - 1];
            double[] x = data(17, outer * rows * cols, -2, 2);
            double[] expected = new double[outer * cols];
            for (int o = 0; o < outer; o++)
                for (int r = 0; r < rows; r++)
                    for (int c = 0; c < cols; c++) expected[o * cols + c] += x[(o * rows + r) * cols + c];
            try (Scope s = Scope.open()) {
                Tensor sum = Ref.f32(x, shape).sum(new int[] {shape.length - 2}, false);
                assertClose(expected, sum, 1e-4, 2e-3, "column sum of " + java.util.Arrays.toString(shape));
            }
        }
    }

    @BackendTest
    void argReductionsAndMaxWithIndices(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor t = Tensor.of(new double[] {1, 5, 5, 0, -3, 9, 2, 2, 7, 1, 8, 8}, DType.FLOAT32, null, 3, 4);
            assertArrayEquals(new long[] {1, 1, 2}, t.argmax(1, false).toLongArray(), "ties resolve to the first index");
            assertArrayEquals(new long[] {3, 0, 1}, t.argmin(1, false).toLongArray());
            assertArrayEquals(new long[] {2, 1, 2, 2}, t.argmax(0, false).toLongArray());
            assertShape(t.argmax(1, true), 3, 1);
            assertEquals(5, t.argmax().item(), "flattened argmax");
            Tensor.ValuesIndices m = t.max(1, false);
            assertClose(new double[] {5, 9, 8}, m.values(), 0, 0, "max values");
            assertArrayEquals(new long[] {1, 1, 2}, m.indices().toLongArray());
            Tensor.ValuesIndices mn = t.min(0, true);
            assertShape(mn.values(), 1, 4);
            assertClose(new double[] {-3, 1, 2, 0}, mn.values(), 0, 0, "min values");
            assertEquals(9.0, t.max().item());
            assertEquals(-3.0, t.min().item());
            Tensor nan = Tensor.of(new double[] {1, Double.NaN, 3}, DType.FLOAT32, null, 3);
            assertEquals(1, nan.argmax(0, false).item(), "NaN counts as the maximum");
            assertEquals(Double.NaN, nan.max().item());
            Tensor ints = Tensor.of(new long[] {4, -2, 9}, 3);
            assertEquals(DType.INT64, ints.sum().dtype());
            assertEquals(11, ints.sum().item());
            assertEquals(9, ints.max().item());
        }
        double[] x = data(12, 12, -2, 2);
        GradCheck.check("max(dim) values", t -> t.max(1, false).values(), x, 3, 4);
    }

    @BackendTest
    void softmaxAndLogSoftmax(TestDevice device) {
        device.activate();
        double[] x = data(13, 24, -4, 4);
        for (int dim = 0; dim < 3; dim++) {
            double[] expected = softmaxRef(x, dim);
            try (Scope s = Scope.open()) {
                assertClose(expected, Ref.f64(x, SHAPE).softmax(dim), 1e-12, 1e-14, "softmax dim " + dim);
                assertClose(Ref.map(expected, Math::log), Ref.f64(x, SHAPE).logSoftmax(dim), 1e-12, 1e-12, "log_softmax dim " + dim);
                assertClose(expected, Ref.f32(x, SHAPE).softmax(dim), 1e-5, 1e-6, "softmax f32 dim " + dim);
            }
            int d = dim;
            GradCheck.check("softmax " + dim, t -> t.softmax(d), x, SHAPE);
            GradCheck.check("log_softmax " + dim, t -> t.logSoftmax(d), x, SHAPE);
        }
        try (Scope s = Scope.open()) {
            Tensor big = Tensor.of(new double[] {1000, 1001, -1000}, DType.FLOAT32, null, 3);
            assertClose(softmaxRef3(new double[] {1000, 1001, -1000}), big.softmax(0), 1e-5, 1e-7, "softmax is stable for large inputs");
        }
    }

    private static double[] softmaxRef3(double[] v) {
        double m = java.util.Arrays.stream(v).max().orElseThrow();
        double[] e = Ref.map(v, a -> Math.exp(a - m));
        double z = sum(e);
        return Ref.map(e, a -> a / z);
    }

    private static double[] softmaxRef(double[] x, int dim) {
        double[] out = new double[x.length];
        int[] strides = {12, 4, 1};
        for (int i = 0; i < x.length; i++) {
            int pos = (i / strides[dim]) % SHAPE[dim];
            int base = i - pos * strides[dim];
            double m = Double.NEGATIVE_INFINITY, z = 0;
            for (int k = 0; k < SHAPE[dim]; k++) m = Math.max(m, x[base + k * strides[dim]]);
            for (int k = 0; k < SHAPE[dim]; k++) z += Math.exp(x[base + k * strides[dim]] - m);
            out[i] = Math.exp(x[i] - m) / z;
        }
        return out;
    }
}
