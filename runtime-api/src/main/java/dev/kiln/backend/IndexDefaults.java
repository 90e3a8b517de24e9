package dev.kiln.backend;

import dev.kiln.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** The defaults of {@link Backend#checkIndex} and {@link Backend#arange}, written with a backend's primitives. */
final class IndexDefaults {
    private IndexDefaults() {}

    /** The index's min and max land side by side in one two-element buffer: one read back for both. */
    static void checkIndex(Backend be, String op, View index, long bound) {
        if (index.numel() == 0) return;
        View x = index.rank() == 0 ? index.withShape(new int[] {1}, new long[] {0}, index.offset()) : index;
        int rank = x.rank();
        int[] axes = new int[rank], ones = new int[rank];
        for (int i = 0; i < rank; i++) {
            axes[i] = i;
            ones[i] = 1;
        }
        DType t = x.dtype();
        View extremes = be.allocateView(t, 2);
        try (Arena arena = Arena.ofConfined()) {
            long[] unit = new long[rank];
            be.reduce(ReduceOp.MIN, x, axes, extremes.withShape(ones, unit, 0));
            be.reduce(ReduceOp.MAX, x, axes, extremes.withShape(ones, unit, 1));
            MemorySegment host = arena.allocate(2L * t.byteSize(), 8);
            be.copyToHost(extremes.buffer(), 0, host);
            long lo = HostValues.getLong(host, t, 0), hi = HostValues.getLong(host, t, 1);
            if (lo < 0) throw Backend.indexOutOfBounds(op, lo, bound);
            if (hi >= bound) throw Backend.indexOutOfBounds(op, hi, bound);
        } finally {
            be.release(extremes.buffer());
        }
    }

    /**
     * Indices 0..n-1 by doubling: after writing 0, each step adds k to the first k indices into the next k, so
     * n indices take log2(n) launches. They are exact in int64; scaling happens in out's dtype (float32 for the
     * storage-only half types), or in int64 when start and step are whole numbers and out is an integer type.
     */
    static void arange(Backend be, double start, double step, View out) {
        int n = Math.toIntExact(out.numel());
        if (n == 0) return;
        View idx = be.allocateView(DType.INT64, n);
        View scaled = null;
        try {
            be.fill(slice(idx, 0, 1), 0);
            for (int k = 1; k < n; k *= 2) {
                int m = Math.min(k, n - k);
                be.binaryScalar(BinaryOp.ADD, slice(idx, 0, m), k, false, slice(idx, k, m));
            }
            DType t = out.dtype();
            boolean whole = start == Math.rint(start) && step == Math.rint(step);
            DType compute = t.isFloatingPoint() ? (t.isComputeType() ? t : DType.FLOAT32) : whole ? DType.INT64 : DType.FLOAT32;
            View v = idx;
            if (compute != DType.INT64) {
                scaled = be.allocateView(compute, n);
                be.copy(idx, scaled);
                v = scaled;
            }
            if (step != 1) be.binaryScalar(BinaryOp.MUL, v, step, false, v);
            if (start != 0) be.binaryScalar(BinaryOp.ADD, v, start, false, v);
            be.copy(v.withShape(out.shape(), View.contiguousStrides(out.shape()), 0), out);
        } finally {
            be.release(idx.buffer());
            if (scaled != null) be.release(scaled.buffer());
        }
    }

    private static View slice(View v, int from, int length) { return v.withShape(new int[] {length}, new long[] {1}, from); }
}
