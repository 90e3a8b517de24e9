package dev.kiln.backend;

import dev.kiln.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Element access by dtype on host memory, with the conversions every backend reproduces: floats to integers
 * truncate toward zero, anything to bool is "not zero", float16 and bfloat16 round to nearest even. The tensor
 * layer converts on the host with these, so a transfer never needs a cast kernel on the device; the CPU backend's
 * strided kernels use them as their element accessors.
 */
public final class HostValues {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private HostValues() {}

    /**
     * Reads one element from host memory.
     *
     * @param s the dense elements
     * @param t their element type
     * @param i the element's index
     * @return element {@code i} of {@code s}, read as {@code t}, widened to double
     */
    public static double getDouble(MemorySegment s, DType t, long i) {
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

    /**
     * Writes one element to host memory, converting as {@link Backend#copy} does (casts to integers truncate).
     *
     * @param s the dense elements
     * @param t their element type
     * @param i the element's index
     * @param v the value written
     */
    public static void setDouble(MemorySegment s, DType t, long i, double v) {
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

    /**
     * Reads one element from host memory as an integer.
     *
     * @param s the dense elements
     * @param t their element type
     * @param i the element's index
     * @return element {@code i}: exact for the integer types, truncated for floats
     */
    public static long getLong(MemorySegment s, DType t, long i) {
        return switch (t) {
            case INT32 -> s.getAtIndex(I32, i);
            case INT64 -> s.getAtIndex(I64, i);
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
            default -> (long) getDouble(s, t, i);
        };
    }

    /**
     * Writes one integer element to host memory: exact for the integer types, rounded for floats.
     *
     * @param s the dense elements
     * @param t their element type
     * @param i the element's index
     * @param v the value written
     */
    public static void setLong(MemorySegment s, DType t, long i, long v) {
        switch (t) {
            case INT32 -> s.setAtIndex(I32, i, (int) v);
            case INT64 -> s.setAtIndex(I64, i, v);
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
            default -> setDouble(s, t, i, v);
        }
    }

    /**
     * Whether a dtype converts through the integer path (exact 64-bit values, no detour through double).
     *
     * @param t the element type
     * @return true for int32, int64 and bool
     */
    public static boolean integral(DType t) { return t == DType.INT32 || t == DType.INT64 || t == DType.BOOL; }

    /**
     * Converts {@code n} dense elements of type {@code from} at {@code src} into type {@code to} at {@code dst}, with
     * the conversions of {@link Backend#copy}.
     *
     * @param src the source elements
     * @param from their element type
     * @param dst where the converted elements go
     * @param to their element type
     * @param n the number of elements
     */

    public static void convert(MemorySegment src, DType from, MemorySegment dst, DType to, long n) {
        if (from == to) {
            MemorySegment.copy(src, 0, dst, 0, n * from.byteSize());
        } else if (integral(from) && integral(to)) {
            for (long i = 0; i < n; i++) setLong(dst, to, i, getLong(src, from, i));
        } else if (to == DType.BOOL) {
            for (long i = 0; i < n; i++) setLong(dst, to, i, getDouble(src, from, i) != 0 ? 1 : 0);
        } else if (integral(to)) {
            for (long i = 0; i < n; i++) setLong(dst, to, i, (long) getDouble(src, from, i));
        } else {
            for (long i = 0; i < n; i++) setDouble(dst, to, i, getDouble(src, from, i));
        }
    }

    /** Round to nearest even, keeping NaN a NaN. */
    private static short toBfloat16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) return (short) ((bits >>> 16) | 0x40);
        int rounding = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + rounding) >>> 16);
    }
}
