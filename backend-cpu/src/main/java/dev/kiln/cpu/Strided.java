package dev.kiln.cpu;

import dev.kiln.DType;
import dev.kiln.backend.HostValues;
import dev.kiln.backend.View;

import java.lang.foreign.MemorySegment;

/**
 * Strided iteration and typed element access for the reference kernels. Every kernel walks its output in
 * row-major order one innermost row at a time, so the inner loop is a plain strided loop the JIT can optimise.
 */
final class Strided {
    private Strided() {}

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

    // ---- typed access: floats through double, integers and bool through long (HostValues' conversions) ----

    static double getD(MemorySegment s, DType t, long i) { return HostValues.getDouble(s, t, i); }

    static void setD(MemorySegment s, DType t, long i, double v) { HostValues.setDouble(s, t, i, v); }

    static long getL(MemorySegment s, DType t, long i) { return HostValues.getLong(s, t, i); }

    static void setL(MemorySegment s, DType t, long i, long v) { HostValues.setLong(s, t, i, v); }

    /** Whether a dtype computes through the integer path. */
    static boolean integral(DType t) { return HostValues.integral(t); }
}
