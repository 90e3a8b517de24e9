package dev.kiln.cpu;

import dev.kiln.DType;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.Buffer;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.VectorKernels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The vector fast paths against {@link ScalarMath}, the scalar semantics they must reproduce: ragged lengths
 * (masked tails), special values, the broadcast patterns they recognise, and sizes that go multi-threaded.
 */
class VectorKernelsTest {
    private static final int[] LENGTHS = {1, 7, 16, 17, 100, 1000, 140_001};
    private static final double[] SPECIAL = {0.0, -0.0, 1.0, -1.0, Double.NaN, Double.POSITIVE_INFINITY,
            Double.NEGATIVE_INFINITY, 30.0, -30.0, 100.0, -100.0, 1e-3, 1e-30};
    private static final DType[] TYPES = {DType.FLOAT32, DType.FLOAT64};

    private final Arena arena = Arena.ofShared();

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryMatchesScalarSemantics(UnaryOp op) {
        for (DType t : TYPES) {
            for (int n : LENGTHS) {
                View x = randomView(t, new int[] {n}, n);
                View out = view(t, n);
                boolean handled = VectorKernels.unary(op, 0.1, x, seg(x), out, seg(out));
                if (!handled) {
                    // float64's transcendental functions run on the scalar path on purpose (see DoubleLoops)
                    if (op == UnaryOp.RELU || t == DType.FLOAT32 && (op == UnaryOp.EXP || op == UnaryOp.TANH))
                        fail(op + " should have a vector path in " + t);
                    break;
                }
                for (int i = 0; i < n; i++) {
                    double in = get(x, i);
                    check(t, ScalarMath.unary(op, in, 0.1), get(out, i), op + " " + t + " n=" + n + " x=" + in);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = BinaryOp.class, names = {"ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM"})
    void binaryMatchesForEveryRecognisedBroadcast(BinaryOp op) {
        for (DType t : TYPES) {
            for (int cols : new int[] {1, 17, 64, 140_001}) {
                int rows = cols > 1000 ? 2 : 5;
                View a = randomView(t, new int[] {rows, cols}, rows * cols);
                View dense = randomView(t, new int[] {rows, cols}, rows * cols);
                View biasRow = randomView(t, new int[] {cols}, cols);
                View perRow = randomView(t, new int[] {rows}, rows);
                View scalar = randomView(t, new int[] {1}, 1);
                View[] bs = {
                        dense,
                        biasRow.withShape(new int[] {rows, cols}, new long[] {0, 1}, 0),
                        perRow.withShape(new int[] {rows, cols}, new long[] {1, 0}, 0),
                        scalar.withShape(new int[] {rows, cols}, new long[] {0, 0}, 0)};
                for (View b : bs) {
                    for (boolean swap : new boolean[] {false, true}) {
                        View x = swap ? b : a, y = swap ? a : b;
                        View out = view(t, rows, cols);
                        assertTrue(VectorKernels.binary(op, x, seg(x), y, seg(y), out, seg(out)), op + " " + x + " " + y);
                        for (int i = 0; i < rows * cols; i++) {
                            double e = ScalarMath.binary(op, at(x, i / cols, i % cols), at(y, i / cols, i % cols));
                            check(t, e, get(out, i), op + " " + t + " " + x + " " + y + " at " + i);
                        }
                    }
                }
                View out = view(t, rows, cols);
                assertTrue(VectorKernels.binaryScalar(op, a, seg(a), 0.75, true, out, seg(out)));
                for (int i = 0; i < rows * cols; i++) check(t, ScalarMath.binary(op, 0.75, get(a, i)), get(out, i), op + " scalar first");
            }
        }
    }

    /** Outer dims with any strides, inner runs contiguous or broadcast: column slices, permuted operands. */
    @ParameterizedTest
    @EnumSource(value = BinaryOp.class, names = {"ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM"})
    void rowStridedOperands(BinaryOp op) {
        for (DType t : TYPES) {
            int n = 3, m = 5, c = 37;
            // A (n, m, c) block out of the middle columns of an (n, m, 4c) tensor: gates out of an LSTM matrix.
            View wide = randomView(t, new int[] {n, m, 4 * c}, n * m * 4 * c, false);
            View slice = wide.withShape(new int[] {n, m, c}, new long[] {m * 4L * c, 4L * c, 1}, 2L * c);
            // An (m, n, c) tensor seen as (n, m, c): outer dims swapped, rows still contiguous.
            View permuted = randomView(t, new int[] {m, n, c}, m * n * c, false).withShape(new int[] {n, m, c}, new long[] {c, (long) n * c, 1}, 0);
            // One value per (n, m) row from an (m, n) tensor: a transposed broadcast.
            View perRow = randomView(t, new int[] {m, n}, m * n, false).withShape(new int[] {n, m, c}, new long[] {1, n, 0}, 0);
            View[][] pairs = {{slice, permuted}, {permuted, slice}, {slice, perRow}, {perRow, permuted}};
            for (View[] pair : pairs) {
                View out = view(t, n, m, c);
                assertTrue(VectorKernels.binary(op, pair[0], seg(pair[0]), pair[1], seg(pair[1]), out, seg(out)), op + " " + pair[0] + " " + pair[1]);
                forEach3(out, (i, e) -> check(t, ScalarMath.binary(op, at3(pair[0], e), at3(pair[1], e)), get(out, i), op + " " + t + " at " + i));
            }
            // The output itself a column slice: the other columns stay untouched.
            View wideOut = view(t, n, m, 4 * c);
            View outSlice = wideOut.withShape(new int[] {n, m, c}, new long[] {m * 4L * c, 4L * c, 1}, c);
            assertTrue(VectorKernels.binaryScalar(op, slice, seg(slice), 0.5, false, outSlice, seg(outSlice)));
            assertTrue(VectorKernels.unary(UnaryOp.SQUARE, 0, permuted, seg(permuted), wideOut.withShape(outSlice.shape(), outSlice.strides(), 2L * c), seg(wideOut)));
            forEach3(outSlice, (i, e) -> {
                check(t, ScalarMath.binary(op, at3(slice, e), 0.5), get(wideOut, at3Offset(outSlice, e)), op + " scalar at " + i);
                check(t, at3(permuted, e) * at3(permuted, e), get(wideOut, at3Offset(outSlice, e) + c), "square at " + i);
                check(t, 0, get(wideOut, at3Offset(outSlice, e) - c), "untouched at " + i);
            });
        }
    }

    @Test
    void float32ErfAndGeluStayWithinAFewUlpOverTheWholeRange() {
        int n = 400_001;
        View x = view(DType.FLOAT32, n);
        for (int i = 0; i < n; i++) set(x, i, -20 + 40.0 * i / (n - 1));
        View erf = view(DType.FLOAT32, n), gelu = view(DType.FLOAT32, n);
        assertTrue(VectorKernels.unary(UnaryOp.ERF, 0, x, seg(x), erf, seg(erf)));
        assertTrue(VectorKernels.unary(UnaryOp.GELU, 0, x, seg(x), gelu, seg(gelu)));
        double worstErf = 0, worstGelu = 0;
        for (int i = 0; i < n; i++) {
            double v = get(x, i);
            worstErf = Math.max(worstErf, ulps(ScalarMath.erf(v), get(erf, i)));
            worstGelu = Math.max(worstGelu, ulps(v * 0.5 * erfc(-v / Math.sqrt(2)), get(gelu, i)));
        }
        assertTrue(worstErf <= 4, "erf off by " + worstErf + " ulp");
        assertTrue(worstGelu <= 6, "gelu off by " + worstGelu + " ulp");

        double[] special = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 0.0, -0.0, 1e-30, -1e-30,
                1.0, -1.0, 1e30, -1e30, 0, 0, 0, 0, 0};
        View s = view(DType.FLOAT32, special.length);
        for (int i = 0; i < special.length; i++) set(s, i, special[i]);
        erf = view(DType.FLOAT32, special.length);
        gelu = view(DType.FLOAT32, special.length);
        assertTrue(VectorKernels.unary(UnaryOp.ERF, 0, s, seg(s), erf, seg(erf)));
        assertTrue(VectorKernels.unary(UnaryOp.GELU, 0, s, seg(s), gelu, seg(gelu)));
        for (int i = 0; i < special.length; i++) {
            double v = (float) special[i];
            check(DType.FLOAT32, ScalarMath.erf(v), get(erf, i), "erf(" + v + ")");
            assertTrue(Double.isNaN(v) || Math.copySign(1, get(erf, i)) == Math.copySign(1, v), "erf keeps the sign of " + v);
            check(DType.FLOAT32, ScalarMath.unary(UnaryOp.GELU, v, 0), get(gelu, i), "gelu(" + v + ")");
        }
    }

    /**
     * Distance in float ulps of the expected value, forgiving 16 of the smallest subnormal: GELU's far negative
     * tail goes subnormal (x &lt; -13.2), where precision is absolute, not relative.
     */
    private static double ulps(double expected, double got) {
        if (Double.isNaN(expected) || Double.isNaN(got)) return Double.isNaN(expected) == Double.isNaN(got) ? 0 : Double.POSITIVE_INFINITY;
        return Math.max(0, Math.abs(got - expected) - 16 * Float.MIN_VALUE) / Math.ulp((float) expected);
    }

    /** erfc in double: 1 - erf near 0, else its continued fraction, accurate in the far tail where 1 - erf is 0. */
    private static double erfc(double x) {
        if (x < 0.5) return 1 - ScalarMath.erf(x);
        double f = x;
        for (int k = 200; k >= 1; k--) f = x + (k / 2.0) / f;
        return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
    }

    @FunctionalInterface
    private interface ElementCheck {
        void at(int linear, int[] index);
    }

    private static void forEach3(View v, ElementCheck check) {
        int[] s = v.shape();
        for (int i = 0, linear = 0; i < s[0]; i++) for (int j = 0; j < s[1]; j++) for (int k = 0; k < s[2]; k++, linear++) {
            check.at(linear, new int[] {i, j, k});
        }
    }

    private static long at3Offset(View v, int[] e) {
        return v.offset() + e[0] * v.strides()[0] + e[1] * v.strides()[1] + e[2] * v.strides()[2];
    }

    private static double at3(View v, int[] e) { return get(v, at3Offset(v, e)); }

    @Test
    void unrecognisedLayoutsAreLeftToTheGeneralKernel() {
        View a = randomView(DType.FLOAT32, new int[] {4, 6}, 24);
        View transposed = a.withShape(new int[] {6, 4}, new long[] {1, 6}, 0);
        View out = view(DType.FLOAT32, 6, 4);
        assertFalse(VectorKernels.unary(UnaryOp.EXP, 0, transposed, seg(a), out, seg(out)));
        assertFalse(VectorKernels.binary(BinaryOp.ADD, transposed, seg(a), transposed, seg(a), out, seg(out)));
        assertFalse(VectorKernels.binary(BinaryOp.POW, out, seg(out), out, seg(out), out, seg(out)));
        View ints = new View(a.buffer(), DType.INT32, new int[] {24}, new long[] {1}, 0);
        assertFalse(VectorKernels.unary(UnaryOp.NEG, 0, ints, seg(a), ints, seg(a)));
    }

    @ParameterizedTest
    @EnumSource(ReduceOp.class)
    void reductionsOverAdjacentAxes(ReduceOp op) {
        for (DType t : TYPES) {
            int[][] shapes = {{3, 5, 7}, {2, 33, 70}, {1, 1, 1_000_003}, {1_003, 2, 3}};
            int[][] axesSets = {{2}, {1}, {0}, {1, 2}, {0, 1}, {0, 1, 2}};
            for (int[] shape : shapes) {
                int numel = shape[0] * shape[1] * shape[2];
                View x = randomView(t, shape, numel, false);
                if (op == ReduceOp.PROD) scaleTowardsOne(x, numel);
                for (int[] axes : axesSets) {
                    int[] outShape = shape.clone();
                    for (int ax : axes) outShape[ax] = 1;
                    View out = view(t, outShape);
                    assertTrue(VectorKernels.reduce(op, x, seg(x), axes, out, seg(out)));
                    checkReduction(op, t, x, axes, out);
                }
            }
        }
    }

    @Test
    void maxOfRowsWithNaNIsNaN() {
        View x = view(DType.FLOAT32, 2, 40);
        for (int i = 0; i < 80; i++) set(x, i, i);
        set(x, 57, Double.NaN);
        View out = view(DType.FLOAT32, 2, 1);
        assertTrue(VectorKernels.reduce(ReduceOp.MAX, x, seg(x), new int[] {1}, out, seg(out)));
        check(DType.FLOAT32, 39, get(out, 0), "row without NaN");
        assertTrue(Double.isNaN(get(out, 1)), "row with NaN");
    }

    private void checkReduction(ReduceOp op, DType t, View x, int[] axes, View out) {
        int[] s = x.shape();
        for (int i = 0; i < s[0]; i++) for (int j = 0; j < s[1]; j++) for (int k = 0; k < s[2]; k++) {
            int[] o = {i, j, k};
            for (int ax : axes) o[ax] = 0;
            if (o[0] != i || o[1] != j || o[2] != k) continue;
            double acc = op == ReduceOp.SUM ? 0 : op == ReduceOp.PROD ? 1 : Double.NaN;
            long count = 0;
            int[] lo = {i, j, k}, hi = {i + 1, j + 1, k + 1};
            for (int ax : axes) hi[ax] = s[ax];
            for (int a = lo[0]; a < hi[0]; a++) for (int b = lo[1]; b < hi[1]; b++) for (int c = lo[2]; c < hi[2]; c++) {
                double v = get(x, (long) (a * s[1] + b) * s[2] + c);
                acc = count++ == 0 && (op == ReduceOp.MAX || op == ReduceOp.MIN) ? v : switch (op) {
                    case SUM -> acc + v;
                    case PROD -> acc * v;
                    case MAX -> Math.max(acc, v);
                    case MIN -> Math.min(acc, v);
                };
            }
            double got = get(out, ((long) i * (out.shape()[1]) + j) * out.shape()[2] + k);
            double tol = (t == DType.FLOAT32 ? 1e-5 : 1e-12) * (op == ReduceOp.SUM || op == ReduceOp.PROD ? Math.sqrt(count) + 1 : 1) * Math.max(1, Math.abs(acc));
            if (!(got == acc || Math.abs(got - acc) <= tol))
                fail(op + " " + t + " " + x + " axes " + java.util.Arrays.toString(axes) + " at " + i + "," + j + "," + k + ": " + got + " vs " + acc);
        }
    }

    private static void check(DType t, double expected, double got, String what) {
        if (t == DType.FLOAT32) expected = (float) expected;
        if (Double.isNaN(expected) ? Double.isNaN(got) : (expected == got
                || Math.abs(got - expected) <= (t == DType.FLOAT32 ? 4e-6 : 1e-14) * Math.abs(expected) + 1e-30))
            return;
        fail(what + ": expected " + expected + " but got " + got);
    }

    // ---- views over test memory --------------------------------------------------------------------------

    private View view(DType t, int... shape) {
        MemorySegment s = arena.allocate(Math.max(1, View.numel(shape)) * t.byteSize());
        return View.contiguous(new TestBuffer(s), t, shape);
    }

    /** Random values in [-3, 3), the first few replaced by special values in views longer than 50. */
    private View randomView(DType t, int[] shape, int numel) {
        return randomView(t, shape, numel, true);
    }

    private View randomView(DType t, int[] shape, int numel, boolean specials) {
        View v = view(t, shape);
        Random rnd = new Random(numel * 31L + shape.length);
        for (int i = 0; i < numel; i++) set(v, i, specials && i < SPECIAL.length && numel > 50 ? SPECIAL[i] : rnd.nextDouble() * 6 - 3);
        return v;
    }

    private static void scaleTowardsOne(View v, int numel) {
        for (int i = 0; i < numel; i++) set(v, i, Double.isFinite(get(v, i)) ? 1 + get(v, i) * 1e-4 : get(v, i));
    }

    private record TestBuffer(MemorySegment segment) implements Buffer {
        public long byteSize() { return segment.byteSize(); }
    }

    private static MemorySegment seg(View v) { return ((TestBuffer) v.buffer()).segment(); }

    private static double at(View v, int i, int j) { return get(v, i * v.strides()[0] + j * v.strides()[1]); }

    private static double get(View v, long i) {
        return v.dtype() == DType.FLOAT32 ? seg(v).getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i)
                : seg(v).getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
    }

    private static void set(View v, long i, double x) {
        if (v.dtype() == DType.FLOAT32) seg(v).setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) x);
        else seg(v).setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, x);
    }
}
