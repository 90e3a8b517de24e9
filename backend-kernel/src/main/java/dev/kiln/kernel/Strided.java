package dev.kiln.kernel;

import dev.kiln.backend.View;

import java.util.Arrays;

/**
 * The geometry kernels receive: a shape and, per operand, strides, packed into {@code long8} kernel arguments
 * (so at most {@link #MAX_RANK} dimensions). Elementwise launches first coalesce dimensions that every operand
 * walks contiguously and drop size-1 dimensions, which keeps the per-element index arithmetic short (a dense
 * tensor becomes one dimension) and lets views of any rank through as long as they coalesce to eight.
 */
record Strided(int rank, long[] shape, long[][] strides, long numel) {
    static final int MAX_RANK = 8;

    /** The shared shape of {@code views} (taken from the first) coalesced across all of them. */
    static Strided coalesce(String op, View... views) {
        int[] shape = views[0].shape();
        long[][] strides = new long[views.length][];
        for (int v = 0; v < views.length; v++) strides[v] = views[v].strides();
        return coalesce(op, shape, strides);
    }

    static Strided coalesce(String op, int[] shape, long[]... operandStrides) {
        int ops = operandStrides.length;
        long[] outShape = new long[shape.length];
        long[][] outStrides = new long[ops][shape.length];
        int rank = 0;
        long numel = 1;
        for (int d = 0; d < shape.length; d++) {
            numel *= shape[d];
            if (shape[d] == 1) continue;
            if (rank > 0 && mergesWithPrevious(rank, outShape, outStrides, operandStrides, d, shape[d])) {
                outShape[rank - 1] *= shape[d];
                for (int v = 0; v < ops; v++) outStrides[v][rank - 1] = operandStrides[v][d];
                continue;
            }
            outShape[rank] = shape[d];
            for (int v = 0; v < ops; v++) outStrides[v][rank] = operandStrides[v][d];
            rank++;
        }
        return pack(op, rank, outShape, outStrides, numel);
    }

    /** Dimension d continues the previous kept one in every operand: stride(prev) == stride(d) * size(d). */
    private static boolean mergesWithPrevious(int rank, long[] outShape, long[][] outStrides, long[][] strides, int d, int size) {
        for (int v = 0; v < strides.length; v++)
            if (outStrides[v][rank - 1] != strides[v][d] * size) return false;
        return true;
    }

    /** The view's own geometry, uncoalesced (for kernels that address one axis explicitly). */
    static Strided exact(String op, int[] shape, long[]... operandStrides) {
        long[] s = new long[shape.length];
        for (int d = 0; d < shape.length; d++) s[d] = shape[d];
        long[][] st = new long[operandStrides.length][];
        for (int v = 0; v < st.length; v++) st[v] = operandStrides[v].clone();
        return pack(op, shape.length, s, st, View.numel(shape));
    }

    private static Strided pack(String op, int rank, long[] shape, long[][] strides, long numel) {
        if (rank > MAX_RANK)
            throw new IllegalStateException(op + ": kernels address at most " + MAX_RANK + " dimensions, got shape "
                    + Arrays.toString(Arrays.copyOf(shape, rank)) + " that does not coalesce further");
        long[] s8 = Arrays.copyOf(shape, MAX_RANK);
        long[][] st8 = new long[strides.length][];
        for (int v = 0; v < strides.length; v++) st8[v] = Arrays.copyOf(strides[v], MAX_RANK);
        return new Strided(rank, s8, st8, numel);
    }

    long[] strides(int operand) { return strides[operand]; }

    /** Whether every operand walks the elements contiguously: element i of each is at its offset plus i. */
    boolean isDense() {
        if (rank == 0) return true;
        if (rank > 1) return false;
        for (long[] s : strides) if (s[0] != 1) return false;
        return true;
    }
}
