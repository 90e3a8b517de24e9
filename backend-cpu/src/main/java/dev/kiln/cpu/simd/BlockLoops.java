package dev.kiln.cpu.simd;

import dev.kiln.DType;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.UnaryOp;

import java.lang.foreign.MemorySegment;

/**
 * The vector loops over one dense run of float32 or float64 elements, for callers outside this package that keep
 * their own blocks (the fused-program interpreter). Each returns false, having done nothing, for an op with no
 * vector loop; the caller then runs its scalar one. Offsets are in bytes.
 */
public final class BlockLoops {
    private BlockLoops() {}

    /**
     * {@code out = op(x)} over n elements.
     *
     * @param t float32 or float64
     * @param op the function
     * @param alpha its parameter
     * @param x the operand's memory
     * @param xOff its byte offset
     * @param out the result's memory
     * @param outOff its byte offset
     * @param n the element count
     * @return whether a vector loop ran
     */
    public static boolean unary(DType t, UnaryOp op, double alpha, MemorySegment x, long xOff, MemorySegment out, long outOff, long n) {
        if (t == DType.FLOAT32 && FloatLoops.supports(op)) FloatLoops.unary(op, alpha, x, xOff, out, outOff, n);
        else if (t == DType.FLOAT64 && DoubleLoops.supports(op)) DoubleLoops.unary(op, alpha, x, xOff, out, outOff, n);
        else return false;
        return true;
    }

    /**
     * {@code out = a op b} over n elements; in float32 also the comparisons, as truth values 1 and 0 in the same type.
     *
     * @param t float32 or float64
     * @param op the function
     * @param a the left operand's memory
     * @param aOff its byte offset
     * @param b the right operand's memory
     * @param bOff its byte offset
     * @param out the result's memory
     * @param outOff its byte offset
     * @param n the element count
     * @return whether a vector loop ran
     */
    public static boolean binary(DType t, BinaryOp op, MemorySegment a, long aOff, MemorySegment b, long bOff,
                                 MemorySegment out, long outOff, long n) {
        if (t == DType.FLOAT32 && (FloatLoops.supports(op) || op.isComparison())) FloatLoops.binary(op, a, aOff, b, bOff, out, outOff, n);
        else if (t == DType.FLOAT64 && DoubleLoops.supports(op)) DoubleLoops.binary(op, a, aOff, b, bOff, out, outOff, n);
        else return false;
        return true;
    }

    /**
     * {@code out = cond != 0 ? a : b} over n elements, the fused interpreter's select (cond a truth register: 1 or 0).
     *
     * @param t float32 (float64 has no vector loop yet)
     * @param c the condition's memory
     * @param cOff its byte offset
     * @param a the chosen-when-true operand's memory
     * @param aOff its byte offset
     * @param b the chosen-when-false operand's memory
     * @param bOff its byte offset
     * @param out the result's memory
     * @param outOff its byte offset
     * @param n the element count
     * @return whether a vector loop ran
     */
    public static boolean where(DType t, MemorySegment c, long cOff, MemorySegment a, long aOff, MemorySegment b, long bOff,
                                MemorySegment out, long outOff, long n) {
        if (t != DType.FLOAT32) return false;
        FloatLoops.where(c, cOff, a, aOff, b, bOff, out, outOff, n);
        return true;
    }
}
