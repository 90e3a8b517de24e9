package dev.kiln.cpu.simd;

import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * Single-precision loops over dense runs of elements; offsets are in bytes. The op switch sits inside the loop rather
 * than behind a per-op lambda: a lambda taking and returning vectors would not inline at a megamorphic call
 * site, and every vector would be boxed. The switch is loop-invariant, so it costs one predicted jump per
 * vector. FloatLoops and DoubleLoops are one shape over two primitive types (see {@code FloatPanelKernel}
 * for why they cannot be one generic class).
 */
final class FloatLoops {
    private FloatLoops() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final long BYTES = Float.BYTES;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    static boolean supports(UnaryOp op) {
        return switch (op) {
            case NEG, ABS, EXP, EXPM1, LOG, LOG1P, SQRT, RSQRT, RECIPROCAL, SQUARE, SIN, COS, TANH, SIGMOID, SILU,
                 RELU, LEAKY_RELU, ELU -> true;
            default -> false;
        };
    }

    static boolean supports(BinaryOp op) {
        return switch (op) {
            case ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM -> true;
            default -> false;
        };
    }

    static void unary(UnaryOp op, double alphaD, MemorySegment x, long xOff, MemorySegment out, long outOff, long n) {
        float alpha = (float) alphaD;
        FloatVector zero = FloatVector.zero(S), one = FloatVector.broadcast(S, 1);
        for (long i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector v = FloatVector.fromMemorySegment(S, x, xOff + i * BYTES, ORDER, m);
            FloatVector r = switch (op) {
                case NEG -> v.neg();
                case ABS -> v.abs();
                case EXP -> v.lanewise(VectorOperators.EXP);
                case EXPM1 -> v.lanewise(VectorOperators.EXPM1);
                case LOG -> v.lanewise(VectorOperators.LOG);
                case LOG1P -> v.lanewise(VectorOperators.LOG1P);
                case SQRT -> v.sqrt();
                case RSQRT -> one.div(v.sqrt());
                case RECIPROCAL -> one.div(v);
                case SQUARE -> v.mul(v);
                case SIN -> v.lanewise(VectorOperators.SIN);
                case COS -> v.lanewise(VectorOperators.COS);
                case TANH -> v.lanewise(VectorOperators.TANH);
                case SIGMOID -> one.div(one.add(v.neg().lanewise(VectorOperators.EXP)));
                case SILU -> v.div(one.add(v.neg().lanewise(VectorOperators.EXP)));
                // Math.max semantics: NaN stays NaN and -0 becomes +0, as in the scalar reference.
                case RELU -> v.max(zero);
                case LEAKY_RELU -> v.mul(alpha).blend(v, v.compare(VectorOperators.GT, zero));
                case ELU -> v.lanewise(VectorOperators.EXPM1).mul(alpha).blend(v, v.compare(VectorOperators.GT, zero));
                default -> throw new IllegalArgumentException("no vector loop for " + op);
            };
            r.intoMemorySegment(out, outOff + i * BYTES, ORDER, m);
        }
    }

    /** {@code out = a op b} elementwise. */
    static void binary(BinaryOp op, MemorySegment a, long aOff, MemorySegment b, long bOff,
                       MemorySegment out, long outOff, long n) {
        for (long i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector x = FloatVector.fromMemorySegment(S, a, aOff + i * BYTES, ORDER, m);
            FloatVector y = FloatVector.fromMemorySegment(S, b, bOff + i * BYTES, ORDER, m);
            apply(op, x, y).intoMemorySegment(out, outOff + i * BYTES, ORDER, m);
        }
    }

    /** {@code out = a op s}, or {@code s op a} when {@code scalarFirst}. */
    static void binaryScalar(BinaryOp op, MemorySegment a, long aOff, double scalar, boolean scalarFirst,
                             MemorySegment out, long outOff, long n) {
        FloatVector s = FloatVector.broadcast(S, (float) scalar);
        for (long i = 0; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector v = FloatVector.fromMemorySegment(S, a, aOff + i * BYTES, ORDER, m);
            (scalarFirst ? apply(op, s, v) : apply(op, v, s)).intoMemorySegment(out, outOff + i * BYTES, ORDER, m);
        }
    }

    private static FloatVector apply(BinaryOp op, FloatVector x, FloatVector y) {
        return switch (op) {
            case ADD -> x.add(y);
            case SUB -> x.sub(y);
            case MUL -> x.mul(y);
            case DIV -> x.div(y);
            case MAXIMUM -> x.max(y);
            case MINIMUM -> x.min(y);
            default -> throw new IllegalArgumentException("no vector loop for " + op);
        };
    }

    /**
     * Reduces n dense elements. Four independent accumulators hide the add latency; max and min follow
     * Math.max/min, so a NaN anywhere gives NaN, as in the scalar reference.
     */
    static float reduce(ReduceOp op, MemorySegment x, long off, long n) {
        FloatVector id = FloatVector.broadcast(S, identity(op));
        FloatVector r0 = id, r1 = id, r2 = id, r3 = id;
        long i = 0;
        for (; i + 4L * L <= n; i += 4L * L) {
            long at = off + i * BYTES;
            r0 = combine(op, r0, FloatVector.fromMemorySegment(S, x, at, ORDER));
            r1 = combine(op, r1, FloatVector.fromMemorySegment(S, x, at + L * BYTES, ORDER));
            r2 = combine(op, r2, FloatVector.fromMemorySegment(S, x, at + 2L * L * BYTES, ORDER));
            r3 = combine(op, r3, FloatVector.fromMemorySegment(S, x, at + 3L * L * BYTES, ORDER));
        }
        for (; i < n; i += L) {
            VectorMask<Float> m = S.indexInRange(i, n);
            r0 = combine(op, r0, FloatVector.fromMemorySegment(S, x, off + i * BYTES, ORDER, m).blend(id, m.not()));
        }
        FloatVector r = combine(op, combine(op, r0, r1), combine(op, r2, r3));
        return r.reduceLanes(switch (op) {
            case SUM -> VectorOperators.ADD;
            case PROD -> VectorOperators.MUL;
            case MAX -> VectorOperators.MAX;
            case MIN -> VectorOperators.MIN;
        });
    }

    static float identity(ReduceOp op) {
        return switch (op) {
            case SUM -> 0;
            case PROD -> 1;
            case MAX -> Float.NEGATIVE_INFINITY;
            case MIN -> Float.POSITIVE_INFINITY;
        };
    }

    private static FloatVector combine(ReduceOp op, FloatVector a, FloatVector b) {
        return switch (op) {
            case SUM -> a.add(b);
            case PROD -> a.mul(b);
            case MAX -> a.max(b);
            case MIN -> a.min(b);
        };
    }
}
