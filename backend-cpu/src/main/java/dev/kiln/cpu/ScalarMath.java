package dev.kiln.cpu;

import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.UnaryOp;

/** The scalar semantics of every elementwise op code: the reference the vectorised and device kernels match. */
final class ScalarMath {
    private ScalarMath() {}

    private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

    static double unary(UnaryOp op, double x, double alpha) {
        return switch (op) {
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case SIGN -> Math.signum(x);
            case EXP -> Math.exp(x);
            case EXPM1 -> Math.expm1(x);
            case LOG -> Math.log(x);
            case LOG1P -> Math.log1p(x);
            case SQRT -> Math.sqrt(x);
            case RSQRT -> 1 / Math.sqrt(x);
            case RECIPROCAL -> 1 / x;
            case SQUARE -> x * x;
            case SIN -> Math.sin(x);
            case COS -> Math.cos(x);
            case TANH -> Math.tanh(x);
            case ERF -> erf(x);
            case FLOOR -> Math.floor(x);
            case CEIL -> Math.ceil(x);
            case ROUND -> Math.rint(x);
            case SIGMOID -> x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
            case RELU -> x > 0 ? x : (Double.isNaN(x) ? x : 0);
            case LEAKY_RELU -> x > 0 ? x : alpha * x;
            case ELU -> x > 0 ? x : alpha * Math.expm1(x);
            case GELU -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            // x (1 + tanh u) / 2 written as x / (1 + e^(-2u)), which does not cancel for negative x.
            case GELU_TANH -> x / (1 + Math.exp(-2 * SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
            case SOFTPLUS -> x > 20 ? x : Math.log1p(Math.exp(x));
            case SILU -> x * (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
            case NOT -> x == 0 ? 1 : 0;
            case IS_NAN -> Double.isNaN(x) ? 1 : 0;
        };
    }

    static long unaryLong(UnaryOp op, long x) {
        return switch (op) {
            case NEG -> -x;
            case ABS -> Math.abs(x);
            case SIGN -> Long.signum(x);
            case SQUARE -> x * x;
            case FLOOR, CEIL, ROUND -> x;
            case RELU -> Math.max(x, 0);
            case NOT -> x == 0 ? 1 : 0;
            case IS_NAN -> 0;
            default -> throw new IllegalArgumentException(op + " is not defined on integers");
        };
    }

    static double binary(BinaryOp op, double a, double b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case POW -> Math.pow(a, b);
            case MAXIMUM -> Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.max(a, b);
            case MINIMUM -> Double.isNaN(a) || Double.isNaN(b) ? Double.NaN : Math.min(a, b);
            case REMAINDER -> {
                double r = a % b;
                yield r != 0 && (r < 0) != (b < 0) ? r + b : r;
            }
            case EQ -> a == b ? 1 : 0;
            case NE -> a != b ? 1 : 0;
            case LT -> a < b ? 1 : 0;
            case LE -> a <= b ? 1 : 0;
            case GT -> a > b ? 1 : 0;
            case GE -> a >= b ? 1 : 0;
            case AND -> a != 0 && b != 0 ? 1 : 0;
            case OR -> a != 0 || b != 0 ? 1 : 0;
            case XOR -> (a != 0) != (b != 0) ? 1 : 0;
        };
    }

    static long binaryLong(BinaryOp op, long a, long b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            // Integer division and remainder are total, with the same answers on every backend (a device cannot
            // raise per element without a round trip to the host): floor division, x / 0 = 0 and x % 0 = x, so
            // x == (x / y) * y + x % y always holds; MIN / -1 wraps to MIN and MIN % -1 = 0, as in Java.
            case DIV -> b == 0 ? 0 : Math.floorDiv(a, b);
            case POW -> {
                if (b < 0) yield a == 1 ? 1 : (a == -1 ? ((b & 1) == 0 ? 1 : -1) : 0);
                long r = 1;
                for (long e = b, base = a; e > 0; e >>= 1, base *= base) if ((e & 1) == 1) r *= base;
                yield r;
            }
            case MAXIMUM -> Math.max(a, b);
            case MINIMUM -> Math.min(a, b);
            case REMAINDER -> b == 0 ? a : Math.floorMod(a, b);
            case EQ -> a == b ? 1 : 0;
            case NE -> a != b ? 1 : 0;
            case LT -> a < b ? 1 : 0;
            case LE -> a <= b ? 1 : 0;
            case GT -> a > b ? 1 : 0;
            case GE -> a >= b ? 1 : 0;
            case AND -> a != 0 && b != 0 ? 1 : 0;
            case OR -> a != 0 || b != 0 ? 1 : 0;
            case XOR -> (a != 0) != (b != 0) ? 1 : 0;
        };
    }

    /**
     * erf to full double precision: for |x| &lt; 6 the series erf x = 2/sqrt(pi) e^(-x^2) sum 2^n x^(2n+1) / (2n+1)!!,
     * whose terms are all positive (no cancellation); beyond, erf is 1 to double precision.
     */
    static double erf(double x) {
        double ax = Math.abs(x);
        if (Double.isNaN(x)) return x;
        if (ax >= 6) return Math.signum(x);
        double x2 = ax * ax;
        double term = ax, sum = ax;
        for (int n = 1; n < 400; n++) {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
            if (term < sum * 1e-17) break;
        }
        double r = 2 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum;
        return x < 0 ? -r : r;
    }
}
