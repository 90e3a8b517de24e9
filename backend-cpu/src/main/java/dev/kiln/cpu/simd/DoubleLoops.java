package dev.kiln.cpu.simd;

import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static jdk.incubator.vector.VectorOperators.GT;
import static jdk.incubator.vector.VectorOperators.MAX;
import static jdk.incubator.vector.VectorOperators.MIN;

import static dev.kiln.cpu.simd.NativeSegments.typed;

/**
 * Double-precision loops over dense runs of elements; offsets are in bytes. Every op has its own small loop
 * method, picked by a switch that handles no vectors. The compact alternatives are ~10x slower once several
 * ops have run: a per-op lambda does not inline at a megamorphic call site, so every vector is boxed, and a
 * switch inside one shared loop is compiled from the profile of the first ops seen, leaving the others on
 * cold, boxing paths for good. FloatLoops and DoubleLoops are one shape over two primitive types (see {@code DoublePanelKernel}
 * for why they cannot be one generic class).
 */
final class DoubleLoops {
    private DoubleLoops() {}

    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final long BYTES = Double.BYTES;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final DoubleVector ONE = DoubleVector.broadcast(S, 1);

    static boolean supports(UnaryOp op) {
        return switch (op) {
            case NEG, ABS, SQRT, RSQRT, RECIPROCAL, SQUARE, RELU, LEAKY_RELU -> true;
            default -> false;
        };
    }

    static boolean supports(BinaryOp op) {
        return switch (op) {
            case ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM -> true;
            default -> false;
        };
    }

    static void unary(UnaryOp op, double alpha, MemorySegment x, long xOff, MemorySegment out, long outOff, long n) {
        double a = alpha;
        long full = n - n % L;
        switch (op) {
            case NEG -> neg(x, xOff, out, outOff, full);
            case ABS -> abs(x, xOff, out, outOff, full);
            case SQRT -> sqrt(x, xOff, out, outOff, full);
            case RSQRT -> rsqrt(x, xOff, out, outOff, full);
            case RECIPROCAL -> reciprocal(x, xOff, out, outOff, full);
            case SQUARE -> square(x, xOff, out, outOff, full);
            case RELU -> relu(x, xOff, out, outOff, full);
            case LEAKY_RELU -> leakyRelu(x, xOff, out, outOff, full, a);
            default -> throw new IllegalArgumentException("no vector loop for " + op);
        }
        if (full < n) {
            // The ragged tail runs through the same loop on a padded scratch vector.
            MemorySegment pad = TAIL.get();
            MemorySegment.copy(x, xOff + full * BYTES, pad, 0, (n - full) * BYTES);
            unary(op, alpha, pad, 0, pad, 0, L);
            MemorySegment.copy(pad, 0, out, outOff + full * BYTES, (n - full) * BYTES);
        }
    }

    private static void neg(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(x, xo, i).neg(), out, oo, i);
    }

    private static void abs(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(x, xo, i).abs(), out, oo, i);
    }

    private static void sqrt(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(x, xo, i).sqrt(), out, oo, i);
    }

    private static void rsqrt(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ONE.div(ld(x, xo, i).sqrt()), out, oo, i);
    }

    private static void reciprocal(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ONE.div(ld(x, xo, i)), out, oo, i);
    }

    private static void square(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) { DoubleVector v = ld(x, xo, i); st(v.mul(v), out, oo, i); }
    }

    private static void relu(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(x, xo, i).lanewise(MAX, 0), out, oo, i);
    }

    private static void leakyRelu(MemorySegment x, long xo, MemorySegment out, long oo, long full, double a) {
        for (long i = 0; i < full; i += L) { DoubleVector v = ld(x, xo, i); st(v.mul(a).blend(v, v.compare(GT, 0)), out, oo, i); }
    }

    // The transcendental functions stay on the scalar path in double, where Math gives the same bits in every
    // execution mode (the Vector API's do not: see FloatMath), and a vector form exact to 1e-16 would need far
    // longer fits than FloatMath's. float64 is the reference type; training runs in float32.

    /** {@code out = a op b} elementwise. */
    static void binary(BinaryOp op, MemorySegment a, long aOff, MemorySegment b, long bOff,
                       MemorySegment out, long outOff, long n) {
        long full = n - n % L;
        switch (op) {
            case ADD -> add(a, aOff, b, bOff, out, outOff, full);
            case SUB -> sub(a, aOff, b, bOff, out, outOff, full);
            case MUL -> mul(a, aOff, b, bOff, out, outOff, full);
            case DIV -> div(a, aOff, b, bOff, out, outOff, full);
            case MAXIMUM -> max(a, aOff, b, bOff, out, outOff, full);
            case MINIMUM -> min(a, aOff, b, bOff, out, outOff, full);
            default -> throw new IllegalArgumentException("no vector loop for " + op);
        }
        if (full < n) {
            MemorySegment pad = TAIL.get();
            MemorySegment.copy(a, aOff + full * BYTES, pad, 0, (n - full) * BYTES);
            MemorySegment.copy(b, bOff + full * BYTES, pad, L * BYTES, (n - full) * BYTES);
            binary(op, pad, 0, pad, L * BYTES, pad, 0, L);
            MemorySegment.copy(pad, 0, out, outOff + full * BYTES, (n - full) * BYTES);
        }
    }

    private static void add(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).add(ld(b, bo, i)), out, oo, i);
    }

    private static void sub(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).sub(ld(b, bo, i)), out, oo, i);
    }

    private static void mul(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).mul(ld(b, bo, i)), out, oo, i);
    }

    private static void div(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).div(ld(b, bo, i)), out, oo, i);
    }

    private static void max(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).lanewise(MAX, ld(b, bo, i)), out, oo, i);
    }

    private static void min(MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).lanewise(MIN, ld(b, bo, i)), out, oo, i);
    }

    /** {@code out = a op s}, or {@code s op a} when {@code scalarFirst}. */
    static void binaryScalar(BinaryOp op, MemorySegment a, long aOff, double scalar, boolean scalarFirst,
                             MemorySegment out, long outOff, long n) {
        double s = scalar;
        long full = n - n % L;
        switch (op) {
            case ADD -> addScalar(a, aOff, s, out, outOff, full);
            case MUL -> mulScalar(a, aOff, s, out, outOff, full);
            case MAXIMUM -> maxScalar(a, aOff, s, out, outOff, full);
            case MINIMUM -> minScalar(a, aOff, s, out, outOff, full);
            case SUB -> {
                if (scalarFirst) scalarSub(a, aOff, s, out, outOff, full);
                else addScalar(a, aOff, -s, out, outOff, full);
            }
            case DIV -> {
                if (scalarFirst) scalarDiv(a, aOff, s, out, outOff, full);
                else divScalar(a, aOff, s, out, outOff, full);
            }
            default -> throw new IllegalArgumentException("no vector loop for " + op);
        }
        if (full < n) {
            MemorySegment pad = TAIL.get();
            MemorySegment.copy(a, aOff + full * BYTES, pad, 0, (n - full) * BYTES);
            binaryScalar(op, pad, 0, scalar, scalarFirst, pad, 0, L);
            MemorySegment.copy(pad, 0, out, outOff + full * BYTES, (n - full) * BYTES);
        }
    }

    private static void addScalar(MemorySegment a, long ao, double s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).add(s), out, oo, i);
    }

    private static void mulScalar(MemorySegment a, long ao, double s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).mul(s), out, oo, i);
    }

    private static void maxScalar(MemorySegment a, long ao, double s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).lanewise(MAX, s), out, oo, i);
    }

    private static void minScalar(MemorySegment a, long ao, double s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).lanewise(MIN, s), out, oo, i);
    }

    private static void scalarSub(MemorySegment a, long ao, double s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).neg().add(s), out, oo, i);
    }

    private static void scalarDiv(MemorySegment a, long ao, double s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(DoubleVector.broadcast(S, s).div(ld(a, ao, i)), out, oo, i);
    }

    private static void divScalar(MemorySegment a, long ao, double s, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += L) st(ld(a, ao, i).div(s), out, oo, i);
    }

    private static DoubleVector ld(MemorySegment s, long byteOffset, long i) {
        return DoubleVector.fromMemorySegment(S, typed(s), byteOffset + i * BYTES, ORDER);
    }

    private static void st(DoubleVector v, MemorySegment s, long byteOffset, long i) {
        v.intoMemorySegment(typed(s), byteOffset + i * BYTES, ORDER);
    }

    /**
     * Reduces n dense elements; the sum keeps two accumulators to hide the add latency. Max and min follow
     * Math.max/min, so a NaN anywhere gives NaN, as in the scalar reference.
     */
    static double reduce(ReduceOp op, MemorySegment x, long off, long n) {
        long full = n - n % L;
        double head = switch (op) {
            case SUM -> sum(x, off, full);
            case PROD -> prod(x, off, full);
            case MAX -> max(x, off, full);
            case MIN -> min(x, off, full);
        };
        for (long i = full; i < n; i++) head = combine(op, head, x.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, off + i * BYTES));
        return head;
    }

    private static double sum(MemorySegment x, long off, long full) {
        DoubleVector r0 = DoubleVector.zero(S), r1 = r0;
        long i = 0;
        for (; i + 2L * L <= full; i += 2L * L) {
            r0 = r0.add(ld(x, off, i));
            r1 = r1.add(ld(x, off, i + L));
        }
        if (i < full) r0 = r0.add(ld(x, off, i));
        return Lanes.sum(r0.add(r1));
    }

    private static double prod(MemorySegment x, long off, long full) {
        DoubleVector r = ONE;
        for (long i = 0; i < full; i += L) r = r.mul(ld(x, off, i));
        return Lanes.product(r);
    }

    private static double max(MemorySegment x, long off, long full) {
        // Four chains: a Java-semantics max (NaN-propagating) is several instructions of latency.
        DoubleVector r0 = DoubleVector.broadcast(S, Double.NEGATIVE_INFINITY), r1 = r0, r2 = r0, r3 = r0;
        long i = 0;
        for (; i + 4L * L <= full; i += 4L * L) {
            r0 = r0.lanewise(MAX, ld(x, off, i));
            r1 = r1.lanewise(MAX, ld(x, off, i + L));
            r2 = r2.lanewise(MAX, ld(x, off, i + 2L * L));
            r3 = r3.lanewise(MAX, ld(x, off, i + 3L * L));
        }
        for (; i < full; i += L) r0 = r0.lanewise(MAX, ld(x, off, i));
        return r0.lanewise(MAX, r1).lanewise(MAX, r2.lanewise(MAX, r3)).reduceLanes(VectorOperators.MAX);
    }

    private static double min(MemorySegment x, long off, long full) {
        // Four chains: a Java-semantics min (NaN-propagating) is several instructions of latency.
        DoubleVector r0 = DoubleVector.broadcast(S, Double.POSITIVE_INFINITY), r1 = r0, r2 = r0, r3 = r0;
        long i = 0;
        for (; i + 4L * L <= full; i += 4L * L) {
            r0 = r0.lanewise(MIN, ld(x, off, i));
            r1 = r1.lanewise(MIN, ld(x, off, i + L));
            r2 = r2.lanewise(MIN, ld(x, off, i + 2L * L));
            r3 = r3.lanewise(MIN, ld(x, off, i + 3L * L));
        }
        for (; i < full; i += L) r0 = r0.lanewise(MIN, ld(x, off, i));
        return r0.lanewise(MIN, r1).lanewise(MIN, r2.lanewise(MIN, r3)).reduceLanes(VectorOperators.MIN);
    }

    /** Two partial results of a reduction, combined (NaN propagates through MAX and MIN). */
    static double combine(ReduceOp op, double a, double b) {
        return switch (op) {
            case SUM -> a + b;
            case PROD -> a * b;
            case MAX -> Math.max(a, b);
            case MIN -> Math.min(a, b);
        };
    }

    /** A padded run of two vectors, for ragged tails. */
    private static final ThreadLocal<MemorySegment> TAIL = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(2L * L * BYTES, 64));
}
