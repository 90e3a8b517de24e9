package dev.kiln.kernel;

import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.View;

/**
 * The shapes of one conv2d (NCHW input, (Cout, C/groups, KH, KW) weight, NCHW output) and the matrix views the
 * im2col + GEMM formulation needs: K = (C/groups) * KH * KW taps per output position, P = OH * OW positions.
 */
record ConvGeometry(int n, int c, int h, int w, int cout, int kh, int kw, int oh, int ow, Conv2dSpec spec) {

    static ConvGeometry of(int[] input, int[] weight, int[] out, Conv2dSpec spec) {
        return new ConvGeometry(input[0], input[1], input[2], input[3], weight[0], weight[2], weight[3], out[2], out[3], spec);
    }

    int groups() { return spec.groups(); }

    int cg() { return c / groups(); }

    int coutG() { return cout / groups(); }

    int k() { return cg() * kh * kw; }

    int p() { return oh * ow; }

    /** The CONV_GEOMETRY arguments of conv.cl, in order. */
    <M> Launch<M> args(Launch<M> l) {
        return l.i32(groups()).i32(cg()).i32(h).i32(w).i32(kh).i32(kw).i32(oh).i32(ow)
                .i32(spec.strideH()).i32(spec.strideW()).i32(spec.padH()).i32(spec.padW())
                .i32(spec.dilationH()).i32(spec.dilationW());
    }

    /**
     * An NCHW tensor as (N, G, C/G, H*W) matrices per image and group, or null when its rows and columns do not
     * merge into one strided dimension (the caller then goes through a dense copy).
     */
    static View planes(View nchw, int groups) {
        int[] s = nchw.shape();
        long[] st = nchw.strides();
        long plane = mergedStride(new int[] {s[2], s[3]}, new long[] {st[2], st[3]});
        if (plane == NOT_MERGEABLE) return null;
        int cg = s[1] / groups;
        return nchw.withShape(new int[] {s[0], groups, cg, s[2] * s[3]}, new long[] {st[0], st[1] * cg, st[1], plane}, nchw.offset());
    }

    /**
     * A weight (or weight gradient) as (G, Cout/G, K) matrices with a leading batch of {@code images} repeated with
     * stride 0, or null when its (C/G, KH, KW) dimensions do not merge into one strided dimension.
     */
    View taps(View weight, int images) {
        long[] st = weight.strides();
        long tap = mergedStride(new int[] {cg(), kh, kw}, new long[] {st[1], st[2], st[3]});
        if (tap == NOT_MERGEABLE) return null;
        return weight.withShape(new int[] {images, groups(), coutG(), k()}, new long[] {0, st[0] * coutG(), st[0], tap}, weight.offset());
    }

    private static final long NOT_MERGEABLE = Long.MIN_VALUE;

    /** The stride of dimensions (outermost first) walked as one, or NOT_MERGEABLE; size-1 dimensions do not count. */
    private static long mergedStride(int[] sizes, long[] strides) {
        long stride = NOT_MERGEABLE, span = 1;
        for (int d = sizes.length - 1; d >= 0; d--) {
            if (sizes[d] == 1) continue;
            if (stride == NOT_MERGEABLE) stride = strides[d];
            else if (strides[d] != span * stride) return NOT_MERGEABLE;
            span *= sizes[d];
        }
        return stride == NOT_MERGEABLE ? 1 : stride;
    }
}
