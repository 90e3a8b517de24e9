package dev.kiln.cpu.simd;

import dev.kiln.DType;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.HostValues;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.kiln.cpu.simd.NativeSegments.typed;

/**
 * Loops over dense runs whose input and output element types differ: comparisons of float32 / float64 runs into
 * bool bytes, and the dtype conversions a training step makes (bool masks to floats and back, float32 to and from
 * float64, int32 to floats). Offsets are in bytes.
 *
 * <p>Why a class of its own: these ops fell through to the general strided kernel, which reads and writes every
 * element through a {@code switch} on the dtype widened to double, about 30 ns per element. A ReLU's backward pass
 * ({@code g * (x > 0).to(float)}) spent more time there than in the convolutions of a LeNet-5 step.
 *
 * <p>Each run is vectors of {@link #LANES} elements (as many as a preferred-width double vector holds, and at least
 * 8, so every dtype of a pair has a species of that lane count) and a scalar tail. As in {@link FloatLoops}, every vector
 * operator is a constant in its own loop: C2 compiles a comparison or conversion whose operator is a parameter to
 * a boxed, ~10x slower fallback.
 */
final class MixedTypeLoops {
    private MixedTypeLoops() {}

    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /**
     * At least 8: the byte species of a lane count below 8 would be narrower than the narrowest vector (64 bits), so
     * where the preferred double vector holds fewer (4 with AVX2, 2 with NEON) the double species is wider than the
     * hardware's and emulated, while the float32 loops, the ones a training step runs, stay native.
     */
    static final int LANES = Math.max(DoubleVector.SPECIES_PREFERRED.length(), 8);
    private static final VectorSpecies<Double> D = VectorSpecies.of(double.class, VectorShape.forBitSize(64 * LANES));
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(32 * LANES));
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(32 * LANES));
    private static final VectorSpecies<Byte> B = ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(8 * LANES));
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    private static final ByteVector ONES = ByteVector.broadcast(B, (byte) 1), ZEROS = ByteVector.zero(B);

    // ---- comparisons ---------------------------------------------------------------------------------------

    /** The element types a comparison is vectorised for. */
    static boolean comparable(DType t) { return t == DType.FLOAT32 || t == DType.FLOAT64; }

    /**
     * {@code out[i] = a[i] op b[i]} as bytes 0 / 1, for n elements of dtype t. A null operand segment stands for its
     * constant ({@code aConst} or {@code bConst}), one value for the whole run: the number of a comparison with a
     * scalar, or the one element of a broadcast row ({@code [N, C] > [N, 1]}); for float32 it must be exact in float.
     * The six comparisons are three loops: GT and GE are LT and LE with the operands swapped, NE is EQ negated (NaN
     * compares unequal, so negating EQ gives Java's {@code !=} on it too).
     */
    static void compare(DType t, BinaryOp op, MemorySegment a, long ao, double aConst, MemorySegment b, long bo, double bConst,
                        MemorySegment out, long oo, long n) {
        if (op == BinaryOp.GT || op == BinaryOp.GE) {
            compare(t, op == BinaryOp.GT ? BinaryOp.LT : BinaryOp.LE, b, bo, bConst, a, ao, aConst, out, oo, n);
            return;
        }
        long full = n - n % LANES;
        boolean negate = op == BinaryOp.NE;
        if (t == DType.FLOAT32) {
            switch (op) {
                case LT -> ltF(a, ao, aConst, b, bo, bConst, out, oo, full);
                case LE -> leF(a, ao, aConst, b, bo, bConst, out, oo, full);
                case EQ, NE -> eqF(a, ao, aConst, b, bo, bConst, out, oo, full, negate);
                default -> throw new IllegalArgumentException("not a comparison: " + op);
            }
        } else {
            switch (op) {
                case LT -> ltD(a, ao, aConst, b, bo, bConst, out, oo, full);
                case LE -> leD(a, ao, aConst, b, bo, bConst, out, oo, full);
                case EQ, NE -> eqD(a, ao, aConst, b, bo, bConst, out, oo, full, negate);
                default -> throw new IllegalArgumentException("not a comparison: " + op);
            }
        }
        long w = t.byteSize();
        for (long i = full; i < n; i++) {
            double x = a == null ? aConst : HostValues.getDouble(a, t, ao / w + i), y = b == null ? bConst : HostValues.getDouble(b, t, bo / w + i);
            boolean r = switch (op) {
                case LT -> x < y;
                case LE -> x <= y;
                case EQ -> x == y;
                default -> x != y;
            };
            out.set(BYTE, oo + i, (byte) (r ? 1 : 0));
        }
    }

    private static FloatVector ldF(MemorySegment s, long off, double constant, long i) {
        return s == null ? FloatVector.broadcast(F, (float) constant) : FloatVector.fromMemorySegment(F, typed(s), off + i * Float.BYTES, ORDER);
    }

    private static DoubleVector ldD(MemorySegment s, long off, double constant, long i) {
        return s == null ? DoubleVector.broadcast(D, constant) : DoubleVector.fromMemorySegment(D, typed(s), off + i * Double.BYTES, ORDER);
    }

    private static void stMask(VectorMask<?> m, MemorySegment out, long oo, long i) {
        ZEROS.blend(ONES, m.cast(B)).intoMemorySegment(typed(out), oo + i, ORDER);
    }

    private static void ltF(MemorySegment a, long ao, double ac, MemorySegment b, long bo, double bc, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += LANES) stMask(ldF(a, ao, ac, i).compare(VectorOperators.LT, ldF(b, bo, bc, i)), out, oo, i);
    }

    private static void leF(MemorySegment a, long ao, double ac, MemorySegment b, long bo, double bc, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += LANES) stMask(ldF(a, ao, ac, i).compare(VectorOperators.LE, ldF(b, bo, bc, i)), out, oo, i);
    }

    private static void eqF(MemorySegment a, long ao, double ac, MemorySegment b, long bo, double bc, MemorySegment out, long oo, long full,
                            boolean negate) {
        for (long i = 0; i < full; i += LANES) {
            VectorMask<Float> m = ldF(a, ao, ac, i).compare(VectorOperators.EQ, ldF(b, bo, bc, i));
            stMask(negate ? m.not() : m, out, oo, i);
        }
    }

    private static void ltD(MemorySegment a, long ao, double ac, MemorySegment b, long bo, double bc, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += LANES) stMask(ldD(a, ao, ac, i).compare(VectorOperators.LT, ldD(b, bo, bc, i)), out, oo, i);
    }

    private static void leD(MemorySegment a, long ao, double ac, MemorySegment b, long bo, double bc, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += LANES) stMask(ldD(a, ao, ac, i).compare(VectorOperators.LE, ldD(b, bo, bc, i)), out, oo, i);
    }

    private static void eqD(MemorySegment a, long ao, double ac, MemorySegment b, long bo, double bc, MemorySegment out, long oo, long full,
                            boolean negate) {
        for (long i = 0; i < full; i += LANES) {
            VectorMask<Double> m = ldD(a, ao, ac, i).compare(VectorOperators.EQ, ldD(b, bo, bc, i));
            stMask(negate ? m.not() : m, out, oo, i);
        }
    }

    // ---- conversions ---------------------------------------------------------------------------------------

    /**
     * Whether a conversion from {@code from} to {@code to} has a loop here. Exactly the pairs whose vector
     * conversion rounds as the general kernel does (which goes through double): int64 to float32 would round
     * twice there, and float to int conversions saturate here but wrap there, so those stay with it.
     */
    static boolean converts(DType from, DType to) {
        return switch (from) {
            case BOOL -> to == DType.FLOAT32 || to == DType.FLOAT64;
            case FLOAT32 -> to == DType.BOOL || to == DType.FLOAT64;
            case FLOAT64 -> to == DType.BOOL || to == DType.FLOAT32;
            case INT32 -> to == DType.FLOAT32 || to == DType.FLOAT64;
            default -> false;
        };
    }

    /** {@code out[i] = (to) x[i]} for n dense elements; bools read as 1 where nonzero, and are written as 0 / 1. */
    static void convert(DType from, MemorySegment x, long xo, DType to, MemorySegment out, long oo, long n) {
        long full = n - n % LANES;
        switch (from) {
            case BOOL -> {
                if (to == DType.FLOAT32) boolToFloat(x, xo, out, oo, full);
                else boolToDouble(x, xo, out, oo, full);
            }
            case FLOAT32 -> {
                if (to == DType.BOOL) floatToBool(x, xo, out, oo, full);
                else floatToDouble(x, xo, out, oo, full);
            }
            case FLOAT64 -> {
                if (to == DType.BOOL) doubleToBool(x, xo, out, oo, full);
                else doubleToFloat(x, xo, out, oo, full);
            }
            case INT32 -> {
                if (to == DType.FLOAT32) intToFloat(x, xo, out, oo, full);
                else intToDouble(x, xo, out, oo, full);
            }
            default -> throw new IllegalArgumentException("no conversion loop from " + from + " to " + to);
        }
        long wx = from.byteSize(), wo = to.byteSize();
        for (long i = full; i < n; i++) {
            HostValues.setDouble(out, to, oo / wo + i, HostValues.getDouble(x, from, xo / wx + i));
        }
    }

    private static ByteVector ldB(MemorySegment s, long off, long i) { return ByteVector.fromMemorySegment(B, typed(s), off + i, ORDER); }

    private static void boolToFloat(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        FloatVector zero = FloatVector.zero(F), one = FloatVector.broadcast(F, 1);
        for (long i = 0; i < full; i += LANES) {
            VectorMask<Float> set = ldB(x, xo, i).compare(VectorOperators.NE, 0).cast(F);
            zero.blend(one, set).intoMemorySegment(typed(out), oo + i * Float.BYTES, ORDER);
        }
    }

    private static void boolToDouble(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        DoubleVector zero = DoubleVector.zero(D), one = DoubleVector.broadcast(D, 1);
        for (long i = 0; i < full; i += LANES) {
            VectorMask<Double> set = ldB(x, xo, i).compare(VectorOperators.NE, 0).cast(D);
            zero.blend(one, set).intoMemorySegment(typed(out), oo + i * Double.BYTES, ORDER);
        }
    }

    private static void floatToBool(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += LANES) stMask(ldF(x, xo, 0, i).compare(VectorOperators.NE, 0), out, oo, i);
    }

    private static void doubleToBool(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += LANES) stMask(ldD(x, xo, 0, i).compare(VectorOperators.NE, 0), out, oo, i);
    }

    private static void floatToDouble(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += LANES) {
            ldF(x, xo, 0, i).convertShape(VectorOperators.F2D, D, 0).intoMemorySegment(typed(out), oo + i * Double.BYTES, ORDER);
        }
    }

    private static void doubleToFloat(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        for (long i = 0; i < full; i += LANES) {
            ldD(x, xo, 0, i).convertShape(VectorOperators.D2F, F, 0).intoMemorySegment(typed(out), oo + i * Float.BYTES, ORDER);
        }
    }

    private static void intToFloat(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        x = typed(x);
        out = typed(out);
        for (long i = 0; i < full; i += LANES) {
            IntVector.fromMemorySegment(I, x, xo + i * Integer.BYTES, ORDER).convert(VectorOperators.I2F, 0)
                    .intoMemorySegment(out, oo + i * Float.BYTES, ORDER);
        }
    }

    private static void intToDouble(MemorySegment x, long xo, MemorySegment out, long oo, long full) {
        x = typed(x);
        out = typed(out);
        for (long i = 0; i < full; i += LANES) {
            IntVector.fromMemorySegment(I, x, xo + i * Integer.BYTES, ORDER).convertShape(VectorOperators.I2D, D, 0)
                    .intoMemorySegment(out, oo + i * Double.BYTES, ORDER);
        }
    }
}
