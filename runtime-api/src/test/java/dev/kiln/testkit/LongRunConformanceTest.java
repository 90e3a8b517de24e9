package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.util.function.BiFunction;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Comparisons, dtype conversions, fills, reductions and 2x2 max pooling on tensors long enough for a backend's vector paths (the other kit
 * tests use a handful of elements): odd lengths that leave a ragged tail, rows broadcast against columns, strided
 * column slices, scalars that are not exact in float32, NaN and signed zeros, and the ReLU gradient built from them.
 * Every expected value is computed here from the elements read back.
 */
class LongRunConformanceTest {

    /** Odd, longer than any vector, and not a multiple of 8 or 16. */
    private static final int ROWS = 37, COLS = 53;

    /** Values in [-2, 2] with exact zeros, ties and NaN sprinkled in. */
    private static double[] values(long seed, int n) {
        double[] v = data(seed, n, -2, 2);
        for (int i = 0; i < n; i += 7) v[i] = Math.round(v[i]);
        v[3] = Double.NaN;
        v[n - 1] = -0.0;
        return v;
    }

    private static boolean[] reference(double[] a, double[] b, BiFunction<Double, Double, Boolean> op) {
        boolean[] r = new boolean[a.length];
        for (int i = 0; i < a.length; i++) r[i] = op.apply(a[i], b[i]);
        return r;
    }

    private record Comparison(String name, BiFunction<Tensor, Tensor, Tensor> op, BiFunction<Double, Double, Boolean> ref) {}

    private static final Comparison[] COMPARISONS = {
            new Comparison("eq", Tensor::eq, (x, y) -> x.doubleValue() == y.doubleValue()),
            new Comparison("ne", Tensor::ne, (x, y) -> x.doubleValue() != y.doubleValue()),
            new Comparison("lt", Tensor::lt, (x, y) -> x < y),
            new Comparison("le", Tensor::le, (x, y) -> x <= y),
            new Comparison("gt", Tensor::gt, (x, y) -> x > y),
            new Comparison("ge", Tensor::ge, (x, y) -> x >= y),
    };

    @BackendTest
    void comparisonsOfLongRunsBroadcastsAndSlices(TestDevice device) {
        device.activate();
        for (DType t : Ref.floatingTypes()) {
            try (Scope s = Scope.open()) {
                Tensor a = Tensor.of(values(1, ROWS * COLS), t, null, ROWS, COLS), b = Tensor.of(values(2, ROWS * COLS), t, null, ROWS, COLS);
                Tensor column = Tensor.of(values(3, ROWS), t, null, ROWS, 1), row = Tensor.of(values(4, COLS), t, null, COLS);
                Tensor wide = Tensor.of(values(5, ROWS * (COLS + 9)), t, null, ROWS, COLS + 9);
                Tensor slice = wide.narrow(1, 4, COLS);
                double[] av = a.toDoubleArray(), bv = b.toDoubleArray(), sv = slice.contiguous().toDoubleArray();
                double[] columnv = column.expand(ROWS, COLS).contiguous().toDoubleArray(), rowv = row.expand(ROWS, COLS).contiguous().toDoubleArray();
                for (Comparison c : COMPARISONS) {
                    String what = c.name() + " in " + t;
                    assertArrayEquals(reference(av, bv, c.ref()), c.op().apply(a, b).toBooleanArray(), what + ", dense");
                    assertArrayEquals(reference(av, columnv, c.ref()), c.op().apply(a, column).toBooleanArray(), what + ", [N, C] with [N, 1]");
                    assertArrayEquals(reference(columnv, av, c.ref()), c.op().apply(column, a).toBooleanArray(), what + ", [N, 1] with [N, C]");
                    assertArrayEquals(reference(av, rowv, c.ref()), c.op().apply(a, row).toBooleanArray(), what + ", [N, C] with [C]");
                    assertArrayEquals(reference(sv, bv, c.ref()), c.op().apply(slice, b).toBooleanArray(), what + ", column slice");
                }
                // Numbers: 0 and 1 are exact in float32, 0.1 is not; a number is compared as the tensor's type holds it
                // (PyTorch's rule), so a float32 element equal to (float) 0.1 is not above 0.1.
                for (double number : new double[] {0, 1, 0.1, -0.0, Double.NaN}) {
                    double[] nv = new double[av.length];
                    java.util.Arrays.fill(nv, inType(number, t));
                    String what = " " + number + " in " + t;
                    assertArrayEquals(reference(av, nv, (x, y) -> x > y), a.gt(number).toBooleanArray(), "gt" + what);
                    assertArrayEquals(reference(av, nv, (x, y) -> x <= y), a.le(number).toBooleanArray(), "le" + what);
                    assertArrayEquals(reference(av, nv, (x, y) -> x.doubleValue() == y.doubleValue()), a.eq(number).toBooleanArray(), "eq" + what);
                    assertArrayEquals(reference(av, nv, (x, y) -> x.doubleValue() != y.doubleValue()), a.ne(number).toBooleanArray(), "ne" + what);
                }
                Tensor nearTenth = Tensor.full(0.1, t, null, ROWS, COLS);
                assertArrayEquals(new boolean[ROWS * COLS], nearTenth.gt(0.1).toBooleanArray(),
                        "(float) 0.1 > 0.1 in " + t);
            }
        }
        TestDevice.requireFloat64();
    }

    /** A number as a tensor of type {@code t} holds it. */
    private static double inType(double number, DType t) { return t == DType.FLOAT32 ? (float) number : number; }

    private static double[] filled(int n, double v) {
        double[] r = new double[n];
        java.util.Arrays.fill(r, v);
        return r;
    }

    @BackendTest
    void conversionsOfLongRuns(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            double[] v = values(6, ROWS * COLS);
            Tensor bools = Tensor.of(v, DType.FLOAT32, null, ROWS, COLS).gt(0);
            boolean[] bv = bools.toBooleanArray();
            double[] asNumbers = new double[bv.length];
            for (int i = 0; i < bv.length; i++) asNumbers[i] = bv[i] ? 1 : 0;
            assertClose(asNumbers, bools.to(DType.FLOAT32), 0, 0, "bool -> float32");
            assertClose(java.util.Arrays.copyOfRange(asNumbers, 0, COLS), bools.narrow(0, 0, 1).to(DType.FLOAT32), 0, 0, "one row of bools -> float32");

            Tensor f = Tensor.of(v, DType.FLOAT32, null, ROWS, COLS);
            double[] fv = f.toDoubleArray();
            boolean[] nonzero = new boolean[fv.length];
            for (int i = 0; i < fv.length; i++) nonzero[i] = fv[i] != 0;
            assertArrayEquals(nonzero, f.to(DType.BOOL).toBooleanArray(), "float32 -> bool (NaN is true, -0 false)");

            int[] ints = new int[ROWS * COLS];
            for (int i = 0; i < ints.length; i++) ints[i] = (i * 7919) % 40_000_003 - 20_000_001;
            double[] intValues = new double[ints.length], roundedToFloat = new double[ints.length];
            for (int i = 0; i < ints.length; i++) {
                intValues[i] = ints[i];
                roundedToFloat[i] = (float) ints[i];
            }
            Tensor it = Tensor.of(ints, ROWS, COLS);
            assertClose(roundedToFloat, it.to(DType.FLOAT32), 0, 0, "int32 -> float32 rounds to nearest");
            assertClose(java.util.Arrays.copyOfRange(roundedToFloat, COLS, 2 * COLS), it.narrow(0, 1, 1).to(DType.FLOAT32), 0, 0, "int32 row -> float32");

            TestDevice.requireFloat64();
            assertClose(intValues, it.to(DType.FLOAT64), 0, 0, "int32 -> float64");
            assertClose(asNumbers, bools.to(DType.FLOAT64), 0, 0, "bool -> float64");
            assertClose(fv, f.to(DType.FLOAT64), 0, 0, "float32 -> float64");
            Tensor d = Tensor.of(v, DType.FLOAT64, null, ROWS, COLS);
            double[] narrowed = new double[v.length];
            for (int i = 0; i < v.length; i++) narrowed[i] = (float) v[i];
            assertClose(narrowed, d.to(DType.FLOAT32), 0, 0, "float64 -> float32 rounds to nearest");
            assertClose(narrowed, d.t().to(DType.FLOAT32).t().contiguous(), 0, 0, "float64 -> float32, transposed");
            boolean[] dNonzero = new boolean[v.length];
            for (int i = 0; i < v.length; i++) dNonzero[i] = v[i] != 0;
            assertArrayEquals(dNonzero, d.to(DType.BOOL).toBooleanArray(), "float64 -> bool");
        }
    }

    @BackendTest
    void fillsOfLongRuns(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            for (double value : new double[] {0, -0.0, 1.5, -3}) {
                Tensor f = Tensor.full(value, DType.FLOAT32, null, ROWS, COLS);
                assertClose(filled(ROWS * COLS, value), f, 0, 0, "full(" + value + ")");
                assertEquals(Double.doubleToLongBits((float) value), Double.doubleToLongBits(f.toDoubleArray()[ROWS * COLS - 1]), "sign of " + value);
                Tensor wide = Tensor.full(7, DType.FLOAT32, null, ROWS, COLS + 9);
                wide.narrow(1, 4, COLS).fill_(value);
                double[] w = wide.toDoubleArray();
                for (int i = 0; i < w.length; i++) {
                    int c = i % (COLS + 9);
                    assertEquals(c >= 4 && c < 4 + COLS ? value : 7, w[i], "fill_ of a column slice at " + i);
                }
            }
            long[] longs = Tensor.full(-5, DType.INT64, null, ROWS, COLS).toLongArray();
            for (long l : longs) assertEquals(-5, l, "int64 full");
            boolean[] trues = Tensor.full(1, DType.BOOL, null, ROWS, COLS).toBooleanArray();
            for (boolean b : trues) assertEquals(true, b, "bool full");
        }
    }

    /** Reductions over the leading and trailing axes, keeping the middle ones: a convolution's bias gradient. */
    @BackendTest
    void reductionsAroundKeptMiddleAxes(TestDevice device) {
        device.activate();
        int[] shape = {5, 3, 4, 9, 7};
        int outer = 5, kept = 3 * 4, inner = 9 * 7;
        for (DType t : Ref.floatingTypes()) {
            try (Scope s = Scope.open()) {
                double[] v = data(9, outer * kept * inner, 0.5, 1.5);
                v[2 * kept * inner + 5 * inner + 11] = Double.NaN;
                Tensor x = Tensor.of(v, t, null, shape);
                double[] xv = x.toDoubleArray(), sum = new double[kept], prod = new double[kept], max = new double[kept], min = new double[kept];
                java.util.Arrays.fill(prod, 1);
                java.util.Arrays.fill(max, Double.NEGATIVE_INFINITY);
                java.util.Arrays.fill(min, Double.POSITIVE_INFINITY);
                for (int a = 0; a < outer; a++)
                    for (int k = 0; k < kept; k++)
                        for (int b = 0; b < inner; b++) {
                            double e = xv[(a * kept + k) * inner + b];
                            sum[k] += e;
                            prod[k] *= e;
                            max[k] = Double.isNaN(e) || Double.isNaN(max[k]) ? Double.NaN : Math.max(max[k], e);
                            min[k] = Double.isNaN(e) || Double.isNaN(min[k]) ? Double.NaN : Math.min(min[k], e);
                        }
                int[] axes = {0, 3, 4};
                assertClose(sum, x.sum(axes, true), Ref.rtol(t), Ref.atol(t), "sum over (0, 3, 4) in " + t);
                assertClose(prod, x.prod(axes, false), 1e-3, 0, "prod over (0, 3, 4) in " + t);
                assertClose(max, x.amax(axes, false), 0, 0, "amax over (0, 3, 4) in " + t);
                assertClose(min, x.amin(axes, false), 0, 0, "amin over (0, 3, 4) in " + t);
                assertClose(new double[] {java.util.Arrays.stream(sum).sum()}, x.sum(new int[] {0, 1, 2, 3, 4}, false), Ref.rtol(t), Ref.atol(t),
                        "sum over every axis in " + t);
            }
        }
        TestDevice.requireFloat64();
    }

    /**
     * 2x2 max pooling at stride 2 over rows longer than a vector (and an odd height, whose last row no window uses):
     * each window reports its first maximum in tap order, a NaN at once, -inf when all four are -inf.
     */
    @BackendTest
    void maxPoolOfLongRows(TestDevice device) {
        device.activate();
        int n = 2, c = 3, h = 9, w = 38, oh = 4, ow = 19;
        for (DType t : Ref.floatingTypes()) {
            try (Scope s = Scope.open()) {
                double[] v = data(10, n * c * h * w, -2, 2);
                for (int i = 0; i < v.length; i += 5) v[i] = Math.round(v[i]);
                for (int i = 1; i < v.length; i += 13) v[i] = -0.0;
                v[41] = Double.NaN;
                for (int i : new int[] {2 * w + 6, 2 * w + 7, 3 * w + 6, 3 * w + 7}) v[i] = Double.NEGATIVE_INFINITY;
                Tensor.ValuesIndices r = dev.kiln.Functional.maxPool2dWithIndices(Tensor.of(v, t, null, n, c, h, w), dev.kiln.backend.Pool2dSpec.of(2, 2, 0));
                double[] xv = Tensor.of(v, t, null, n, c, h, w).toDoubleArray(), values = new double[n * c * oh * ow];
                long[] indices = new long[values.length];
                for (int plane = 0; plane < n * c; plane++)
                    for (int oy = 0; oy < oh; oy++)
                        for (int ox = 0; ox < ow; ox++) {
                            double best = Double.NaN;
                            long at = -1;
                            for (int tap = 0; tap < 4; tap++) {
                                long index = (2L * oy + tap / 2) * w + 2L * ox + tap % 2;
                                double e = xv[(int) (plane * (long) h * w + index)];
                                if (at < 0 || (!Double.isNaN(best) && (e > best || Double.isNaN(e)))) {
                                    best = e;
                                    at = index;
                                }
                            }
                            int o = (plane * oh + oy) * ow + ox;
                            values[o] = best;
                            indices[o] = at;
                        }
                assertClose(values, r.values(), 0, 0, "max_pool2d values in " + t);
                assertArrayEquals(indices, r.indices().toLongArray(), "max_pool2d indices in " + t);
            }
        }
        TestDevice.requireFloat64();
    }

    /** relu's gradient is 1 where the input is positive, 0 elsewhere (at 0 too), over a whole activation map. */
    @BackendTest
    void reluGradientOfAnActivationMap(TestDevice device) {
        device.activate();
        for (DType t : Ref.floatingTypes()) {
            try (Scope s = Scope.open()) {
                double[] v = data(7, 4 * 3 * 11 * 13, -2, 2);
                for (int i = 0; i < v.length; i += 9) v[i] = 0;
                Tensor x = Tensor.of(v, t, null, 4, 3, 11, 13).requiresGrad(true);
                Tensor g = Tensor.of(data(8, v.length, -1, 1), t, null, 4, 3, 11, 13);
                x.relu().backward(g);
                double[] gv = g.toDoubleArray(), xv = x.toDoubleArray(), expected = new double[v.length];
                for (int i = 0; i < v.length; i++) expected[i] = xv[i] > 0 ? gv[i] : 0;
                assertClose(expected, x.grad(), 0, 0, "relu gradient in " + t);
            }
        }
        TestDevice.requireFloat64();
    }
}
