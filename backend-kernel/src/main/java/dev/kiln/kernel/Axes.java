package dev.kiln.kernel;

import dev.kiln.backend.View;

/**
 * A view's axes split for a reduction: the kept ones (one output element each, with the input's and the output's
 * strides) and the reduced ones (looped over, with the input's strides). Each part is coalesced on its own.
 */
record Axes(int[] keptShape, long[] keptInStrides, long[] keptOutStrides, int[] reducedShape, long[] reducedStrides) {

    static Axes split(View in, View out, int[] axes) {
        int rank = in.rank();
        boolean[] reduced = new boolean[rank];
        for (int a : axes) reduced[a] = true;
        int nReduced = axes.length;
        int[] ks = new int[rank - nReduced], rs = new int[nReduced];
        long[] kin = new long[rank - nReduced], kout = new long[rank - nReduced], rin = new long[nReduced];
        int k = 0, r = 0;
        for (int d = 0; d < rank; d++) {
            if (reduced[d]) {
                rs[r] = in.shape()[d];
                rin[r++] = in.strides()[d];
            } else {
                ks[k] = in.shape()[d];
                kin[k] = in.strides()[d];
                kout[k++] = out.strides()[d];
            }
        }
        return new Axes(ks, kin, kout, rs, rin);
    }

    Strided kept(String op) { return Strided.coalesce(op, keptShape, keptInStrides, keptOutStrides); }

    Strided reduced(String op) { return Strided.coalesce(op, reducedShape, reducedStrides); }
}
