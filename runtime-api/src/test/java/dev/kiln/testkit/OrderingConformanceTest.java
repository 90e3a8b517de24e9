package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.random.Generator;
import dev.kiln.random.Philox;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * sort / argsort / topk, cumsum, flip, repeat and randperm on the device, against host references: a stable host
 * sort with NaN largest, running sums in float64, and {@link Philox#permutation}.
 */
class OrderingConformanceTest {

    /** Positions of {@code row} in stable sorted order, NaN largest. */
    private static int[] hostOrder(double[] row, boolean descending) {
        Comparator<Integer> asc = (a, b) -> {
            double x = row[a], y = row[b];
            if (Double.isNaN(x) || Double.isNaN(y)) return Boolean.compare(Double.isNaN(x), Double.isNaN(y));
            return x < y ? -1 : (x > y ? 1 : 0);
        };
        return IntStream.range(0, row.length).boxed().sorted(descending ? asc.reversed() : asc).mapToInt(Integer::intValue).toArray();
    }

    /** Values with ties, NaNs, infinities and signed zeros, rounded so float32 holds them exactly. */
    private static double[] awkward(int n) {
        double[] v = data(5, n, -3, 3);
        for (int i = 0; i < n; i++) v[i] = Math.round(v[i] * 2) / 2.0;
        v[1] = Double.NaN;
        v[n - 2] = Double.NaN;
        v[3] = Double.POSITIVE_INFINITY;
        v[4] = Double.NEGATIVE_INFINITY;
        v[5] = -0.0;
        return v;
    }

    @BackendTest
    void sortIsStableWithNaNLargestAlongEitherDimension(TestDevice device) {
        device.activate();
        int rows = 3, cols = 11;
        double[] x = awkward(rows * cols);
        for (DType dt : Ref.floatingTypes()) {
            for (boolean desc : new boolean[] {false, true}) {
                try (Scope s = Scope.open()) {
                    Tensor t = Tensor.of(x, dt, null, rows, cols);
                    Tensor.ValuesIndices byRow = t.sort(1, desc);
                    double[] values = byRow.values().toDoubleArray();
                    long[] idx = byRow.indices().toLongArray();
                    assertEquals(DType.INT64, byRow.indices().dtype());
                    assertEquals(dt, byRow.values().dtype());
                    for (int r = 0; r < rows; r++) {
                        double[] row = Arrays.copyOfRange(x, r * cols, (r + 1) * cols);
                        int[] order = hostOrder(row, desc);
                        for (int j = 0; j < cols; j++) {
                            String what = dt + " desc=" + desc + " row " + r + " position " + j;
                            assertEquals(order[j], idx[r * cols + j], what);
                            assertEquals(Double.doubleToLongBits(row[order[j]]), Double.doubleToLongBits(values[r * cols + j]), what);
                        }
                    }
                    Tensor.ValuesIndices byColumn = t.sort(0, desc);
                    long[] cidx = byColumn.indices().toLongArray();
                    for (int c = 0; c < cols; c++) {
                        double[] col = new double[rows];
                        for (int r = 0; r < rows; r++) col[r] = x[r * cols + c];
                        int[] order = hostOrder(col, desc);
                        for (int r = 0; r < rows; r++) assertEquals(order[r], cidx[r * cols + c], dt + " column " + c);
                    }
                    assertArrayEquals(idx, t.argsort(1, desc).toLongArray(), "argsort");
                }
            }
        }
        TestDevice.requireFloat64();
    }

    @BackendTest
    void sortOfIntegersIsExactAndLongRowsSortInBlocks(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            long[] ints = {5, -2, 1L << 40, 5, 0, -(1L << 40) - 1, 7};
            Tensor.ValuesIndices r = Tensor.of(ints).sort(0, false);
            assertArrayEquals(new long[] {-(1L << 40) - 1, -2, 0, 5, 5, 7, 1L << 40}, r.values().toLongArray());
            assertArrayEquals(new long[] {5, 1, 4, 0, 3, 6, 2}, r.indices().toLongArray());

            // Longer than one comparison block of the composed default, with many ties.
            int n = 3000;
            double[] x = data(8, n, 0, 50);
            for (int i = 0; i < n; i++) x[i] = Math.floor(x[i]);
            long[] idx = Ref.f64(x, n).argsort(0, true).toLongArray();
            int[] order = hostOrder(x, true);
            for (int i = 0; i < n; i++) assertEquals(order[i], idx[i], "position " + i);
        }
    }

    @BackendTest
    void topkGivesTheLargestOrSmallestInOrder(TestDevice device) {
        device.activate();
        double[] x = data(9, 4 * 6, -1, 1);
        try (Scope s = Scope.open()) {
            Tensor t = Ref.f64(x, 4, 6);
            for (boolean largest : new boolean[] {true, false}) {
                Tensor.ValuesIndices top = t.topk(3, 1, largest);
                assertShape(top.values(), 4, 3);
                double[] v = top.values().toDoubleArray();
                long[] i = top.indices().toLongArray();
                for (int r = 0; r < 4; r++) {
                    int[] order = hostOrder(Arrays.copyOfRange(x, r * 6, r * 6 + 6), largest);
                    for (int k = 0; k < 3; k++) {
                        assertEquals(order[k], i[r * 3 + k]);
                        assertEquals(x[r * 6 + order[k]], v[r * 3 + k]);
                    }
                }
            }
            assertThrows(IllegalArgumentException.class, () -> t.topk(7, 1, true));
        }
    }

    @BackendTest
    void cumsumMatchesRunningSums(TestDevice device) {
        device.activate();
        int[] shape = {3, 13};
        double[] x = data(12, 39, -2, 2);
        try (Scope s = Scope.open()) {
            Tensor t = Ref.f64(x, shape);
            double[] along1 = new double[39], along0 = new double[39];
            for (int r = 0; r < 3; r++) {
                double acc = 0;
                for (int c = 0; c < 13; c++) along1[r * 13 + c] = acc += x[r * 13 + c];
            }
            for (int c = 0; c < 13; c++) {
                double acc = 0;
                for (int r = 0; r < 3; r++) along0[r * 13 + c] = acc += x[r * 13 + c];
            }
            assertClose(along1, t.cumsum(1), 1e-12, 1e-12, "cumsum dim 1");
            assertClose(along1, t.cumsum(-1), 1e-12, 1e-12, "cumsum dim -1");
            assertClose(along0, t.cumsum(0), 1e-12, 1e-12, "cumsum dim 0");
            assertClose(along0, t.t().contiguous().cumsum(1).t(), 1e-12, 1e-12, "cumsum of a transposed copy");
            Tensor ints = Tensor.of(new int[] {1, 2, 3, 4, 5});
            Tensor ic = ints.cumsum(0);
            assertEquals(DType.INT64, ic.dtype());
            assertArrayEquals(new long[] {1, 3, 6, 10, 15}, ic.toLongArray());
            assertArrayEquals(new long[] {1, 1, 2}, Tensor.of(new boolean[] {true, false, true}).cumsum(0).toLongArray());
        }
    }

    @BackendTest
    void flipAndRepeatRearrangeLikePyTorch(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor t = Ref.f64(new double[] {0, 1, 2, 3, 4, 5}, 2, 3);
            assertArrayEquals(new double[] {2, 1, 0, 5, 4, 3}, t.flip(1).toDoubleArray());
            assertArrayEquals(new double[] {5, 4, 3, 2, 1, 0}, t.flip(0, 1).toDoubleArray());
            Tensor r = t.repeat(2, 2);
            assertShape(r, 4, 6);
            assertArrayEquals(new double[] {0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5, 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5}, r.toDoubleArray());
            Tensor lead = Ref.f64(new double[] {1, 2}, 2).repeat(3, 1, 2);
            assertShape(lead, 3, 1, 4);
            assertArrayEquals(new double[] {1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2}, lead.toDoubleArray());
            assertThrows(IllegalArgumentException.class, () -> t.repeat(2));
        }
    }

    @BackendTest
    void randpermIsThePhiloxPermutationOfTheGenerator(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Generator g = new Generator(1234);
            long offset = g.offset();
            long[] p = Tensor.randperm(50, g, null).toLongArray();
            assertEquals(offset + 50, g.offset(), "randperm(n) reserves n counters");
            int[] expected = Philox.permutation(1234, offset, 50);
            for (int i = 0; i < 50; i++) assertEquals(expected[i], p[i], "position " + i);
            long[] sorted = p.clone();
            Arrays.sort(sorted);
            assertArrayEquals(IntStream.range(0, 50).asLongStream().toArray(), sorted, "a permutation");
            assertFalse(Arrays.equals(sorted, p), "shuffled");
            assertNotEquals(Arrays.toString(p), Arrays.toString(Tensor.randperm(50, g, null).toLongArray()), "the next draw differs");

            Kiln.manualSeed(77);
            Tensor a = Tensor.rand(5);
            Tensor b = Tensor.rand(new Generator(77), DType.FLOAT32, null, 5);
            assertArrayEquals(a.toFloatArray(), b.toFloatArray(), "a fresh generator with the seed draws what the default does");
        }
    }

    @BackendTest
    void orderingGradients(TestDevice device) {
        device.activate();
        double[] x = data(21, 12, -2, 2);
        GradCheck.check("sort values", t -> t.sort(1, false).values(), x, 3, 4);
        GradCheck.check("sort descending dim 0", t -> t.sort(0, true).values(), x, 3, 4);
        GradCheck.check("topk", t -> t.topk(2, 1, true).values(), x, 3, 4);
        GradCheck.check("cumsum dim 1", t -> t.cumsum(1), x, 3, 4);
        GradCheck.check("cumsum dim 0", t -> t.cumsum(0), x, 3, 4);
        GradCheck.check("flip", t -> t.flip(0, 1), x, 3, 4);
        GradCheck.check("repeat", t -> t.repeat(2, 1, 3), x, 3, 4);
    }

    @BackendTest
    void sortAcceptsOnlyOrderedTypes(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor b = Tensor.of(new boolean[] {true, false});
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.sort(0, false));
            assertTrue(e.getMessage().contains("sort"), e.getMessage());
        }
    }
}
