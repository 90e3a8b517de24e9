package dev.kiln.backend;

import dev.kiln.DType;

import java.lang.foreign.MemorySegment;

/**
 * Sorting and prefix sums written only with a backend's primitives, so they run where the data is and never read
 * it back to the host. Both are deterministic: they use no atomics and no order of completion.
 *
 * <ul>
 *   <li>Sort by rank counting: element i of a row goes to position {@code rank(i) = #{j : j sorts before i}},
 *       where j sorts before i when its key is smaller (larger, descending) or equal with j &lt; i, which makes
 *       the sort stable. NaN sorts above every number, as in PyTorch. The comparisons are one broadcast compare of
 *       the row against itself (in chunks of columns, so the n x n intermediate stays bounded), their count a sum,
 *       and the placement a scatter-add of distinct positions (exact). O(n^2) work in O(log n) depth: right for
 *       the rows models sort (top-k over a vocabulary, lengths of a batch); a backend overrides it with a real
 *       sort where rows are long.</li>
 *   <li>Inclusive scan by doubling (Hillis and Steele): {@code out[i] += out[i - s]} for s = 1, 2, 4, ..., each
 *       step one strided add over the shifted halves, ceil(log2 n) steps in all.</li>
 * </ul>
 */
final class SortScanDefaults {
    private SortScanDefaults() {}

    /** Elements of the largest comparison block the sort allocates (bool, plus an int64 copy). */
    private static final long COMPARISON_BLOCK = 1L << 20;

    static void sort(Backend be, View x, int axis, boolean descending, View values, View indices) {
        int n = x.shape()[axis];
        int rank = x.rank();
        View iota = iota(be, n);
        View rankOut = be.allocateView(DType.INT64, x.shape());
        try {
            be.fill(rankOut, 0);
            // Pairs (i, j): a new dimension after axis holds j. xi repeats x[i] along j; xj repeats x[j] along i.
            View xi = withAxis(x, axis + 1, n, 0);
            View xj = withAxis(x, axis + 1, n, x.strides()[axis]);
            long[] xjStrides = xj.strides().clone();
            xjStrides[axis] = 0;
            xj = xj.withShape(xj.shape(), xjStrides, xj.offset());
            int[] pairShape = xi.shape();
            View ii = along(iota, rank + 1, axis, pairShape), jj = along(iota, rank + 1, axis + 1, pairShape);

            long perColumn = Math.max(1, x.numel());
            int chunk = (int) Math.max(1, Math.min(n, COMPARISON_BLOCK / perColumn));
            for (int j0 = 0; j0 < n; j0 += chunk) {
                int len = Math.min(chunk, n - j0);
                countBefore(be, narrow(xi, axis + 1, j0, len), narrow(xj, axis + 1, j0, len),
                        narrow(ii, axis + 1, j0, len), narrow(jj, axis + 1, j0, len), descending, axis + 1, rankOut);
            }
            // Positions are distinct, so each output element receives exactly one addend; -0.0 + v is v for every v.
            be.fill(values, -0.0);
            be.scatterAdd(values, axis, rankOut, x);
            be.fill(indices, 0);
            be.scatterAdd(indices, axis, rankOut, along(iota, rank, axis, x.shape()));
        } finally {
            be.release(rankOut.buffer());
            be.release(iota.buffer());
        }
    }

    /** Adds to {@code rankOut} how many of the columns j of this block sort before each i. */
    private static void countBefore(Backend be, View xi, View xj, View ii, View jj, boolean descending, int jAxis, View rankOut) {
        int[] shape = xi.shape();
        boolean floating = xi.dtype().isFloatingPoint();
        View before = be.allocateView(DType.BOOL, shape), tie = be.allocateView(DType.BOOL, shape), scratch = be.allocateView(DType.BOOL, shape);
        View nanI = floating ? be.allocateView(DType.BOOL, shape) : null, nanJ = floating ? be.allocateView(DType.BOOL, shape) : null;
        View counts = be.allocateView(DType.INT64, shape);
        int[] reducedShape = shape.clone();
        reducedShape[jAxis] = 1;
        View partial = be.allocateView(DType.INT64, reducedShape);
        try {
            be.binary(descending ? BinaryOp.GT : BinaryOp.LT, xj, xi, before);
            be.binary(BinaryOp.EQ, xj, xi, tie);
            if (floating) {
                // NaN is the largest key: after every number ascending, before them descending; NaNs tie.
                be.binary(BinaryOp.NE, xi, xi, nanI);
                be.binary(BinaryOp.NE, xj, xj, nanJ);
                be.binary(BinaryOp.AND, nanI, nanJ, scratch);
                be.binary(BinaryOp.OR, tie, scratch, tie);
                be.binary(BinaryOp.XOR, nanI, nanJ, scratch);
                be.binary(BinaryOp.AND, scratch, descending ? nanJ : nanI, scratch);
                be.binary(BinaryOp.OR, before, scratch, before);
            }
            be.binary(BinaryOp.LT, jj, ii, scratch);
            be.binary(BinaryOp.AND, tie, scratch, tie);
            be.binary(BinaryOp.OR, before, tie, before);
            be.copy(before, counts);
            be.reduce(ReduceOp.SUM, counts, new int[] {jAxis}, partial);
            be.binary(BinaryOp.ADD, rankOut, partial.withShape(rankOut.shape(), drop(partial.strides(), jAxis), partial.offset()), rankOut);
        } finally {
            for (View v : new View[] {before, tie, scratch, nanI, nanJ, counts, partial}) if (v != null) be.release(v.buffer());
        }
    }

    static void cumsum(Backend be, View x, int axis, View out) {
        int n = x.shape()[axis];
        be.copy(x, out);
        if (n < 2) return;
        View shifted = be.allocateView(out.dtype(), out.shape());
        try {
            for (int s = 1; s < n; s *= 2) {
                // out[i] += out[i - s] for i >= s, reading a copy of the old values.
                View src = narrow(out, axis, 0, n - s), tmp = narrow(shifted, axis, 0, n - s), dst = narrow(out, axis, s, n - s);
                be.copy(src, tmp);
                be.binary(BinaryOp.ADD, dst, tmp, dst);
            }
        } finally {
            be.release(shifted.buffer());
        }
    }

    /** 0, 1, ..., n-1 as int64 on the device. */
    private static View iota(Backend be, int n) {
        long[] values = new long[Math.max(n, 1)];
        for (int i = 0; i < n; i++) values[i] = i;
        View v = be.allocateView(DType.INT64, n);
        be.copyFromHost(MemorySegment.ofArray(values), v.buffer(), 0);
        return v;
    }

    /** The 1-D {@code v} laid along dimension {@code dim} of {@code shape} (rank {@code rank}), repeated elsewhere. */
    private static View along(View v, int rank, int dim, int[] shape) {
        long[] strides = new long[rank];
        strides[dim] = v.strides()[0];
        return v.withShape(shape.clone(), strides, v.offset());
    }

    static View narrow(View v, int dim, int start, int length) {
        int[] shape = v.shape().clone();
        shape[dim] = length;
        return v.withShape(shape, v.strides(), v.offset() + start * v.strides()[dim]);
    }

    /** {@code v} with a new dimension of {@code size} and {@code stride} at position {@code at}. */
    private static View withAxis(View v, int at, int size, long stride) {
        int rank = v.rank();
        int[] shape = new int[rank + 1];
        long[] strides = new long[rank + 1];
        for (int d = 0, src = 0; d <= rank; d++) {
            boolean added = d == at;
            shape[d] = added ? size : v.shape()[src];
            strides[d] = added ? stride : v.strides()[src++];
        }
        return v.withShape(shape, strides, v.offset());
    }

    private static long[] drop(long[] a, int at) {
        long[] r = new long[a.length - 1];
        System.arraycopy(a, 0, r, 0, at);
        System.arraycopy(a, at + 1, r, at, a.length - at - 1);
        return r;
    }
}
