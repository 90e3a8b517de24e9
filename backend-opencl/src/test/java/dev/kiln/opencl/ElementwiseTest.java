package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import dev.kiln.testkit.Ref;
import org.jocl.cl_mem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

import static dev.kiln.opencl.Devices.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Copy, fill, unary, binary and where on the device against host computations. */
class ElementwiseTest {

    @ParameterizedTest
    @EnumSource(DType.class)
    void roundTripAndStridedCopyKeepValues(DType t) {
        KernelBackend<cl_mem> be = backendOrSkip();
        double[] src = {0, 1, 2, 3, 4, 5};
        View a = upload(be, t, src, 2, 3);
        assertClose(expectedAs(t, src), download(be, a), 0, t + " round trip");
        View transposed = a.withShape(new int[] {3, 2}, new long[] {1, 3}, 0);
        View out = be.allocateView(t, 3, 2);
        be.copy(transposed, out);
        assertClose(expectedAs(t, new double[] {0, 3, 1, 4, 2, 5}), download(be, out), 0, t + " transposed copy");
    }

    private static double[] expectedAs(DType t, double[] v) {
        double[] e = v.clone();
        if (t == DType.BOOL) for (int i = 0; i < e.length; i++) e[i] = e[i] != 0 ? 1 : 0;
        return e;
    }

    @Test
    void castsTruncateSaturateAndTestNonZero() {
        KernelBackend<cl_mem> be = backendOrSkip();
        double[] src = {-2.7, -0.5, 0, 0.5, 2.7, Double.NaN, 1e20, -1e20};
        View f = upload(be, DType.FLOAT64, src, src.length);
        View i32 = be.allocateView(DType.INT32, src.length);
        be.copy(f, i32);
        assertArrayEquals(new double[] {-2, 0, 0, 0, 2, 0, Integer.MAX_VALUE, Integer.MIN_VALUE}, download(be, i32));
        View b = be.allocateView(DType.BOOL, src.length);
        be.copy(f, b);
        assertArrayEquals(new double[] {1, 1, 0, 1, 1, 1, 1, 1}, download(be, b));
        View h = be.allocateView(DType.FLOAT16, src.length);
        be.copy(f, h);
        View back = be.allocateView(DType.FLOAT32, src.length);
        be.copy(h, back);
        double[] got = download(be, back);
        for (int i = 0; i < src.length; i++)
            assertEquals(Float.float16ToFloat(Float.floatToFloat16((float) src[i])), got[i], "float16 " + src[i]);
        View bf = be.allocateView(DType.BFLOAT16, src.length);
        be.copy(f, bf);
        be.copy(bf, back);
        double[] gotBf = download(be, back);
        for (int i = 0; i < 5; i++) assertEquals(src[i], gotBf[i], Math.abs(src[i]) / 128, "bfloat16 " + src[i]);
    }

    private static void assertEquals(double expected, double actual, String what) {
        org.junit.jupiter.api.Assertions.assertEquals(expected, actual, what);
    }

    private static void assertEquals(double expected, double actual, double tol, String what) {
        org.junit.jupiter.api.Assertions.assertEquals(expected, actual, tol, what);
    }

    @Test
    void int64CastsAreExact() {
        KernelBackend<cl_mem> be = backendOrSkip();
        double[] src = {-(1L << 40) - 3, 1L << 40};
        View l = upload(be, DType.INT64, src, 2);
        View i = be.allocateView(DType.INT32, 2);
        be.copy(l, i);
        assertArrayEquals(new double[] {(int) (-(1L << 40) - 3), 0}, download(be, i));
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void fillWritesAStridedWindowOnly(DType t) {
        KernelBackend<cl_mem> be = backendOrSkip();
        View a = upload(be, t, new double[12], 3, 4);
        be.fill(a.withShape(new int[] {3, 2}, new long[] {4, 2}, 1), 1);
        assertClose(new double[] {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, download(be, a), 0, t + " fill");
    }

    static DoubleUnaryOperator reference(UnaryOp op, double alpha) { return Ref.unary(op, alpha); }

    @ParameterizedTest
    @EnumSource(UnaryOp.class)
    void unaryOpsMatchTheHostOnFloat32AndFloat64(UnaryOp op) {
        KernelBackend<cl_mem> be = backendOrSkip();
        double[] x = data(100, 3, op.ordinal());
        x[0] = 0;
        x[1] = 2.5;
        x[2] = -2.5;
        if (op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT) for (int i = 0; i < x.length; i++) x[i] = Math.abs(x[i]) + 0.1;
        if (op == UnaryOp.IS_NAN) x[3] = Double.NaN;
        DoubleUnaryOperator f = reference(op, 0.1);
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            View in = upload(be, t, x, 10, 10);
            View out = be.allocateView(op == UnaryOp.IS_NAN ? DType.BOOL : t, 10, 10);
            // Reading the input transposed exercises the strided path.
            be.unary(op, 0.1, in.withShape(new int[] {10, 10}, new long[] {1, 10}, 0), out);
            double[] expected = new double[100];
            for (int i = 0; i < 10; i++)
                for (int j = 0; j < 10; j++) {
                    double v = t == DType.FLOAT32 ? (float) x[j * 10 + i] : x[j * 10 + i];
                    expected[i * 10 + j] = f.applyAsDouble(v);
                }
            assertClose(expected, download(be, out), t == DType.FLOAT32 ? 2e-6 : 1e-13, op + " " + t);
        }
    }

    @Test
    void integerUnaryOpsAreExact() {
        KernelBackend<cl_mem> be = backendOrSkip();
        double[] x = {-5, -1, 0, 3, 7};
        for (DType t : new DType[] {DType.INT32, DType.INT64}) {
            View in = upload(be, t, x, 5), out = be.allocateView(t, 5);
            be.unary(UnaryOp.ABS, 0, in, out);
            assertArrayEquals(new double[] {5, 1, 0, 3, 7}, download(be, out));
            be.unary(UnaryOp.SIGN, 0, in, out);
            assertArrayEquals(new double[] {-1, -1, 0, 1, 1}, download(be, out));
            be.unary(UnaryOp.RELU, 0, in, out);
            assertArrayEquals(new double[] {0, 0, 0, 3, 7}, download(be, out));
        }
        View num = upload(be, DType.INT64, new double[] {-7, 7, 7, -7, 6}, 5), den = upload(be, DType.INT64, new double[] {2, -2, 2, -2, 3}, 5);
        View q = be.allocateView(DType.INT64, 5);
        be.binary(BinaryOp.DIV, num, den, q);
        assertArrayEquals(new double[] {-4, -4, 3, 3, 2}, download(be, q), "integer division floors");
        assertThrows(IllegalArgumentException.class, () -> be.unary(UnaryOp.EXP, 0, num, q));
        View b = upload(be, DType.BOOL, new double[] {0, 1}, 2), nb = be.allocateView(DType.BOOL, 2);
        be.unary(UnaryOp.NOT, 0, b, nb);
        assertArrayEquals(new double[] {1, 0}, download(be, nb));
    }

    static DoubleBinaryOperator reference(BinaryOp op) { return Ref.binary(op); }

    @ParameterizedTest
    @EnumSource(BinaryOp.class)
    void binaryOpsBroadcastThroughStrides(BinaryOp op) {
        KernelBackend<cl_mem> be = backendOrSkip();
        double[] a = data(12, 4, 1), b = data(4, 4, 2);
        a[0] = 0;
        b[1] = 0;
        a[5] = Math.rint(a[5]);
        b[1] = a[5] == 0 ? 1 : 0;
        if (op == BinaryOp.POW) for (int i = 0; i < a.length; i++) a[i] = Math.abs(a[i]) + 0.5;
        if (op == BinaryOp.REMAINDER || op == BinaryOp.DIV) for (int i = 0; i < b.length; i++) b[i] = b[i] == 0 ? 1.5 : b[i];
        DoubleBinaryOperator f = reference(op);
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64, DType.INT32, DType.INT64}) {
            if (!t.isFloatingPoint() && (op == BinaryOp.POW || op == BinaryOp.DIV)) continue;
            double[] av = as(t, a), bv = as(t, b);
            if (!t.isFloatingPoint() && op == BinaryOp.REMAINDER) for (int i = 0; i < bv.length; i++) if (bv[i] == 0) bv[i] = 3;
            View va = upload(be, t, av, 3, 4), vb = upload(be, t, bv, 1, 4);
            View out = be.allocateView(op.writesBool() ? DType.BOOL : t, 3, 4);
            be.binary(op, va, vb.withShape(new int[] {3, 4}, new long[] {0, 1}, 0), out);
            double[] expected = new double[12];
            for (int i = 0; i < 12; i++) expected[i] = as(t, f.applyAsDouble(av[i], bv[i % 4]));
            assertClose(expected, download(be, out), t == DType.FLOAT32 ? 1e-6 : 1e-14, op + " " + t);

            be.binaryScalar(op, va, bv[2], true, out);
            // An integer remainder by zero is the dividend on every backend (x % 0 = x, so x == (x / y) * y + x % y).
            boolean integerRemainder = !t.isFloatingPoint() && op == BinaryOp.REMAINDER;
            for (int i = 0; i < 12; i++) expected[i] = as(t, integerRemainder && av[i] == 0 ? bv[2] : f.applyAsDouble(bv[2], av[i]));
            assertClose(expected, download(be, out), t == DType.FLOAT32 ? 1e-6 : 1e-14, op + " scalar first " + t);
        }
    }

    private static double[] as(DType t, double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) r[i] = as(t, v[i]);
        return r;
    }

    private static double as(DType t, double v) {
        return switch (t) {
            case FLOAT32 -> (float) v;
            case INT32, INT64 -> (long) v;
            default -> v;
        };
    }

    @Test
    void whereSelectsByCondition() {
        KernelBackend<cl_mem> be = backendOrSkip();
        View c = upload(be, DType.BOOL, new double[] {1, 0, 0, 1}, 4);
        View a = upload(be, DType.INT64, new double[] {1, 2, 3, 4}, 4);
        View b = upload(be, DType.INT64, new double[] {9}, 1);
        View out = be.allocateView(DType.INT64, 4);
        be.where(c, a, b.withShape(new int[] {4}, new long[] {0}, 0), out);
        assertArrayEquals(new double[] {1, 9, 9, 4}, download(be, out));
    }
}
