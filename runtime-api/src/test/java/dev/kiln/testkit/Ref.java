package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Tensor;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.UnaryOp;

import java.util.Arrays;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Host-side float64 reference helpers and comparisons for the kit. */
public final class Ref {
    private Ref() {}

    /** Deterministic test data in [lo, hi): a fixed LCG, independent of Kiln's generator. */
    public static double[] data(long seed, int n, double lo, double hi) {
        double[] v = new double[n];
        long s = seed * 6364136223846793005L + 1442695040888963407L;
        for (int i = 0; i < n; i++) {
            s = s * 6364136223846793005L + 1442695040888963407L;
            v[i] = lo + (hi - lo) * ((s >>> 11) * 0x1.0p-53);
        }
        return v;
    }

    public static int numel(int... shape) {
        int n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /**
     * The floating types a test compares in: float64 and float32, or float32 alone on a device without float64. A
     * test that iterates over these ends with {@link TestDevice#requireFloat64}, so its float64 half is reported
     * skipped, with the reason, after the float32 half passed.
     */
    public static DType[] floatingTypes() {
        return TestDevice.computesFloat64() ? new DType[] {DType.FLOAT64, DType.FLOAT32} : new DType[] {DType.FLOAT32};
    }

    /** The most precise floating type the default device computes in: for tests of semantics, not of float64. */
    public static DType widest() { return TestDevice.computesFloat64() ? DType.FLOAT64 : DType.FLOAT32; }

    /** A float64 tensor on the default device; the calling test is skipped on a device without float64. */
    public static Tensor f64(double[] v, int... shape) {
        TestDevice.requireFloat64();
        return Tensor.of(v, DType.FLOAT64, null, shape);
    }

    public static Tensor f32(double[] v, int... shape) { return Tensor.of(v, DType.FLOAT32, null, shape); }

    public static double[] map(double[] x, DoubleUnaryOperator f) {
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = f.applyAsDouble(x[i]);
        return y;
    }

    /** |actual - expected| <= atol + rtol * |expected| elementwise, NaN equal to NaN, with the first miss reported. */
    public static void assertClose(double[] expected, double[] actual, double rtol, double atol, String what) {
        if (expected.length != actual.length) fail(what + ": expected " + expected.length + " values, got " + actual.length);
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(e) && Double.isNaN(a)) continue;
            if (Double.isInfinite(e) && e == a) continue;
            if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e)))
                fail(what + ": element " + i + " is " + a + ", expected " + e + " (rtol " + rtol + ", atol " + atol + ")\n expected "
                        + preview(expected) + "\n actual   " + preview(actual));
        }
    }

    public static void assertClose(double[] expected, Tensor actual, double rtol, double atol, String what) {
        assertClose(expected, actual.toDoubleArray(), rtol, atol, what);
    }

    /** Tolerances for comparing a dtype's results with a float64 reference. */
    public static double rtol(DType t) { return t == DType.FLOAT64 ? 1e-9 : 1e-4; }

    public static double atol(DType t) { return t == DType.FLOAT64 ? 1e-10 : 1e-5; }

    public static void assertShape(Tensor t, int... shape) {
        assertArrayEquals(shape, t.shape(), () -> "shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(shape));
    }

    /**
     * A backend's live bytes once garbage that earlier tests dropped without closing has been collected: the
     * Cleaner frees it asynchronously, and a leak check must not mistake that for its own bytes. Kiln's cached
     * constants (attention masks, pooling divisors) are released first for the same reason.
     */
    public static long settledLiveBytes(dev.kiln.backend.Backend backend) {
        dev.kiln.Kiln.releaseConstants();
        long previous = -1, now = backend.memoryStats().liveBytes();
        for (int i = 0; i < 50 && now != previous; i++) {
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            previous = now;
            now = backend.memoryStats().liveBytes();
        }
        return now;
    }

    private static String preview(double[] v) {
        return Arrays.toString(Arrays.copyOf(v, Math.min(v.length, 12))) + (v.length > 12 ? "..." : "");
    }

    /** The float64 reference of a unary op code, with its parameter. */
    public static DoubleUnaryOperator unary(UnaryOp op, double alpha) {
        return switch (op) {
            case NEG -> x -> -x;
            case ABS -> Math::abs;
            case SIGN -> Math::signum;
            case EXP -> Math::exp;
            case EXPM1 -> Math::expm1;
            case LOG -> Math::log;
            case LOG1P -> Math::log1p;
            case SQRT -> Math::sqrt;
            case RSQRT -> x -> 1 / Math.sqrt(x);
            case RECIPROCAL -> x -> 1 / x;
            case SQUARE -> x -> x * x;
            case SIN -> Math::sin;
            case COS -> Math::cos;
            case TANH -> Math::tanh;
            case ERF -> ElementwiseConformanceTest::erf;
            case FLOOR -> Math::floor;
            case CEIL -> Math::ceil;
            case ROUND -> Math::rint;
            case SIGMOID -> x -> 1 / (1 + Math.exp(-x));
            case RELU -> x -> x > 0 ? x : 0;
            case LEAKY_RELU -> x -> x > 0 ? x : alpha * x;
            case ELU -> x -> x > 0 ? x : alpha * Math.expm1(x);
            case GELU -> x -> 0.5 * x * (1 + ElementwiseConformanceTest.erf(x / Math.sqrt(2)));
            case GELU_TANH -> x -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case SOFTPLUS -> x -> Math.log1p(Math.exp(x));
            case SILU -> x -> x / (1 + Math.exp(-x));
            case NOT -> x -> x == 0 ? 1 : 0;
            case IS_NAN -> x -> Double.isNaN(x) ? 1 : 0;
        };
    }

    /** The float64 reference of a binary op code (comparisons and logical ops give 1 or 0). */
    public static DoubleBinaryOperator binary(BinaryOp op) {
        return switch (op) {
            case ADD -> Double::sum;
            case SUB -> (a, b) -> a - b;
            case MUL -> (a, b) -> a * b;
            case DIV -> (a, b) -> a / b;
            case POW -> Math::pow;
            case MAXIMUM -> Math::max;
            case MINIMUM -> Math::min;
            case REMAINDER -> (a, b) -> a - Math.floor(a / b) * b;
            case EQ -> (a, b) -> a == b ? 1 : 0;
            case NE -> (a, b) -> a != b ? 1 : 0;
            case LT -> (a, b) -> a < b ? 1 : 0;
            case LE -> (a, b) -> a <= b ? 1 : 0;
            case GT -> (a, b) -> a > b ? 1 : 0;
            case GE -> (a, b) -> a >= b ? 1 : 0;
            case AND -> (a, b) -> a != 0 && b != 0 ? 1 : 0;
            case OR -> (a, b) -> a != 0 || b != 0 ? 1 : 0;
            case XOR -> (a, b) -> (a != 0) != (b != 0) ? 1 : 0;
        };
    }
}
