package dev.kiln.cpu;

import dev.kiln.DType;
import dev.kiln.backend.View;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Strided iteration and typed element access for the reference kernels. Every kernel walks its output in
 * row-major order one innermost row at a time, so the inner loop is a plain strided loop the JIT can optimise.
 */
final class Strided {
    private Strided() {}

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** Called once per innermost row: the element offsets of up to three operands at the row's start. */
    @FunctionalInterface
    interface RowVisitor {
        void row(long o0, long o1, long o2, int n);
    }

    /** Visits the rows of {@code shape} for operands a, b, c (b and c may be null). */
    static void rows(int[] shape, View a, View b, View c, RowVisitor visitor) {
        int r = shape.length;
        long n = View.numel(shape);
        if (n == 0) return;
        long[] sa = a.strides(), sb = b == null ? null : b.strides(), sc = c == null ? null : c.strides();
        long oa = a.offset(), ob = b == null ? 0 : b.offset(), oc = c == null ? 0 : c.offset();
        if (r == 0) {
            visitor.row(oa, ob, oc, 1);
            return;
        }
        int inner = shape[r - 1];
        long rows = n / inner;
        if (rows == 1) { // vectors and tiny tensors: skip the index bookkeeping, which would cost more than the row
            visitor.row(oa, ob, oc, inner);
            return;
        }
        int[] idx = new int[r];
        for (long row = 0; row < rows; row++) {
            visitor.row(oa, ob, oc, inner);
            for (int d = r - 2; d >= 0; d--) {
                oa += sa[d];
                if (sb != null) ob += sb[d];
                if (sc != null) oc += sc[d];
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
                oa -= sa[d] * shape[d];
                if (sb != null) ob -= sb[d] * shape[d];
                if (sc != null) oc -= sc[d] * shape[d];
            }
        }
    }

    static long innerStride(View v) { return v.rank() == 0 ? 0 : v.strides()[v.rank() - 1]; }

    static MemorySegment seg(View v) { return ((CpuBuffer) v.buffer()).segment(); }

    // ---- typed access: floats through double, integers and bool through long ------------------------------

    static double getD(MemorySegment s, DType t, long i) {
        return switch (t) {
            case FLOAT32 -> s.getAtIndex(F32, i);
            case FLOAT64 -> s.getAtIndex(F64, i);
            case INT32 -> s.getAtIndex(I32, i);
            case INT64 -> s.getAtIndex(I64, i);
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
            case FLOAT16 -> Float.float16ToFloat(s.getAtIndex(I16, i));
            case BFLOAT16 -> Float.intBitsToFloat((s.getAtIndex(I16, i) & 0xFFFF) << 16);
        };
    }

    static void setD(MemorySegment s, DType t, long i, double v) {
        switch (t) {
            case FLOAT32 -> s.setAtIndex(F32, i, (float) v);
            case FLOAT64 -> s.setAtIndex(F64, i, v);
            case INT32 -> s.setAtIndex(I32, i, (int) (long) v);
            case INT64 -> s.setAtIndex(I64, i, (long) v);
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
            case FLOAT16 -> s.setAtIndex(I16, i, Float.floatToFloat16((float) v));
            case BFLOAT16 -> s.setAtIndex(I16, i, toBfloat16((float) v));
        }
    }

    static long getL(MemorySegment s, DType t, long i) {
        return switch (t) {
            case INT32 -> s.getAtIndex(I32, i);
            case INT64 -> s.getAtIndex(I64, i);
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
            default -> (long) getD(s, t, i);
        };
    }

    static void setL(MemorySegment s, DType t, long i, long v) {
        switch (t) {
            case INT32 -> s.setAtIndex(I32, i, (int) v);
            case INT64 -> s.setAtIndex(I64, i, v);
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
            default -> setD(s, t, i, v);
        }
    }

    /** Round to nearest even, keeping NaN a NaN. */
    private static short toBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }

    /** Whether a dtype computes through the integer path. */
    static boolean integral(DType t) { return t == DType.INT32 || t == DType.INT64 || t == DType.BOOL; }
}
