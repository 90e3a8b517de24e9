package dev.kiln.backend;

/**
 * The default fused kernels, written only with a backend's primitives. They are correct on every backend
 * and reasonably fast (convolution is im2col plus one batched matmul); backends override them where a
 * dedicated kernel is worth it.
 */
final class FusedDefaults {
    private FusedDefaults() {}

    static void softmax(Backend be, View x, int axis, boolean log, View out) {
        int[] reducedShape = x.shape().clone();
        reducedShape[axis] = 1;
        View max = be.allocateView(x.dtype(), reducedShape);
        View sum = be.allocateView(x.dtype(), reducedShape);
        View shifted = log ? be.allocateView(x.dtype(), x.shape()) : out;
        try {
            be.reduce(ReduceOp.MAX, x, new int[] {axis}, max);
            be.binary(BinaryOp.SUB, x, broadcastAlong(max, axis, x.shape()), shifted);
            if (log) {
                be.unary(UnaryOp.EXP, 0, shifted, out);
                be.reduce(ReduceOp.SUM, out, new int[] {axis}, sum);
                be.unary(UnaryOp.LOG, 0, sum, sum);
                be.binary(BinaryOp.SUB, shifted, broadcastAlong(sum, axis, x.shape()), out);
            } else {
                be.unary(UnaryOp.EXP, 0, shifted, out);
                be.reduce(ReduceOp.SUM, out, new int[] {axis}, sum);
                be.binary(BinaryOp.DIV, out, broadcastAlong(sum, axis, x.shape()), out);
            }
        } finally {
            be.release(max.buffer());
            be.release(sum.buffer());
            if (log) be.release(shifted.buffer());
        }
    }

    /** A view of a keep-dim reduction result repeated along {@code axis} to {@code shape}. */
    private static View broadcastAlong(View reduced, int axis, int[] shape) {
        long[] strides = reduced.strides().clone();
        strides[axis] = 0;
        return reduced.withShape(shape.clone(), strides, reduced.offset());
    }

    // ---- convolution as im2col + batched matmul ------------------------------------------------------------
    //
    // Columns are laid out (N, G, Cg*KH*KW, OH*OW): for image n and group g, a K x P matrix whose row
    // (c, kh, kw) holds the input pixels that kernel tap sees at every output position. The forward pass is then
    // one batched matmul W_g (Cout/G x K) @ cols (K x P), and both backward passes are matmuls plus, for the
    // input, the adjoint of im2col: KH*KW strided accumulations into a zero-padded gradient.

    private record Geometry(int n, int c, int h, int w, int cout, int kh, int kw, int oh, int ow, int groups,
                            Conv2dSpec spec) {
        static Geometry of(int[] input, int[] weight, int[] out, Conv2dSpec spec) {
            return new Geometry(input[0], input[1], input[2], input[3], weight[0], weight[2], weight[3], out[2], out[3],
                    spec.groups(), spec);
        }

        int cg() { return c / groups; }
        int coutG() { return cout / groups; }
        int k() { return cg() * kh * kw; }
        int p() { return oh * ow; }
        int hp() { return h + 2 * spec.padH(); }
        int wp() { return w + 2 * spec.padW(); }
        boolean padded() { return spec.padH() > 0 || spec.padW() > 0; }
    }

    /** im2col source: a 7-d view (N, G, Cg, KH, KW, OH, OW) over a (padded) NCHW input. */
    private static View im2colSource(View padded, Geometry g) {
        long[] s = padded.strides();
        Conv2dSpec sp = g.spec;
        return padded.withShape(new int[] {g.n, g.groups, g.cg(), g.kh, g.kw, g.oh, g.ow},
                new long[] {s[0], s[1] * g.cg(), s[1], s[2] * sp.dilationH(), s[3] * sp.dilationW(), s[2] * sp.strideH(), s[3] * sp.strideW()},
                padded.offset());
    }

    /** Copies the input into a zero border when the convolution pads, else returns it as is. */
    private static View padInput(Backend be, View input, Geometry g) {
        if (!g.padded()) return input;
        View padded = be.allocateView(input.dtype(), g.n, g.c, g.hp(), g.wp());
        be.fill(padded, 0);
        be.copy(input, interior(padded, g));
        return padded;
    }

    private static View interior(View padded, Geometry g) {
        long[] s = padded.strides();
        return padded.withShape(new int[] {g.n, g.c, g.h, g.w}, s,
                padded.offset() + g.spec.padH() * s[2] + g.spec.padW() * s[3]);
    }

    private static View im2col(Backend be, View input, Geometry g) {
        View padded = padInput(be, input, g);
        View cols = be.allocateView(input.dtype(), g.n, g.groups, g.cg(), g.kh, g.kw, g.oh, g.ow);
        try {
            be.copy(im2colSource(padded, g), cols);
        } finally {
            if (padded != input) be.release(padded.buffer());
        }
        return cols.withShape(new int[] {g.n, g.groups, g.k(), g.p()}, View.contiguousStrides(new int[] {g.n, g.groups, g.k(), g.p()}), 0);
    }

    /** Weight as (N, G, Cout/G, K), repeated over the batch with stride 0; dense copy first if it is not dense. */
    private static View weightMatrix(View weight, Geometry g) {
        return weight.withShape(new int[] {g.n, g.groups, g.coutG(), g.k()},
                new long[] {0, (long) g.coutG() * g.k(), g.k(), 1}, weight.offset());
    }

    /** An NCHW tensor seen as (N, G, C/G, H*W); requires it dense. */
    private static View grouped(View nchw, int groups) {
        int[] s = nchw.shape();
        int cg = s[1] / groups;
        int hw = s[2] * s[3];
        return nchw.withShape(new int[] {s[0], groups, cg, hw}, new long[] {(long) s[1] * hw, (long) cg * hw, hw, 1}, nchw.offset());
    }

    private static View dense(Backend be, View v) {
        if (v.isContiguous()) return v;
        View copy = be.allocateView(v.dtype(), v.shape());
        be.copy(v, copy);
        return copy;
    }

    private static void releaseIfCopy(Backend be, View maybeCopy, View original) {
        if (maybeCopy != original) be.release(maybeCopy.buffer());
    }

    static void conv2d(Backend be, View input, View weight, Conv2dSpec spec, View out) {
        Geometry g = Geometry.of(input.shape(), weight.shape(), out.shape(), spec);
        View w = dense(be, weight);
        View cols = im2col(be, input, g);
        View o = out.isContiguous() ? out : be.allocateView(out.dtype(), out.shape());
        try {
            be.matmul(weightMatrix(w, g), cols, grouped(o, g.groups));
            if (o != out) be.copy(o, out);
        } finally {
            be.release(cols.buffer());
            releaseIfCopy(be, w, weight);
            releaseIfCopy(be, o, out);
        }
    }

    static void conv2dBackwardInput(Backend be, View gradOut, View weight, Conv2dSpec spec, View gradInput) {
        Geometry g = Geometry.of(gradInput.shape(), weight.shape(), gradOut.shape(), spec);
        View w = dense(be, weight);
        View go = dense(be, gradOut);
        View cols = be.allocateView(gradOut.dtype(), g.n, g.groups, g.k(), g.p());
        View wm = weightMatrix(w, g);
        View wt = wm.withShape(new int[] {g.n, g.groups, g.k(), g.coutG()}, new long[] {0, wm.strides()[1], 1, g.k()}, wm.offset());
        View padded = be.allocateView(gradOut.dtype(), g.n, g.c, g.hp(), g.wp());
        try {
            be.matmul(wt, grouped(go, g.groups), cols);
            be.fill(padded, 0);
            // col2im: each kernel tap (kh, kw) adds its OH x OW plane into a strided window of the padded gradient.
            // Windows of one tap never overlap themselves, so each accumulation is a plain elementwise add.
            View colsTaps = cols.withShape(new int[] {g.n, g.groups, g.cg(), g.kh, g.kw, g.oh, g.ow},
                    View.contiguousStrides(new int[] {g.n, g.groups, g.cg(), g.kh, g.kw, g.oh, g.ow}), 0);
            long[] ps = padded.strides();
            long[] cs = colsTaps.strides();
            int[] planeShape = {g.n, g.groups, g.cg(), g.oh, g.ow};
            long[] windowStrides = {ps[0], ps[1] * g.cg(), ps[1], ps[2] * spec.strideH(), ps[3] * spec.strideW()};
            long[] planeStrides = {cs[0], cs[1], cs[2], cs[5], cs[6]};
            for (int i = 0; i < g.kh; i++) {
                for (int j = 0; j < g.kw; j++) {
                    View window = padded.withShape(planeShape, windowStrides,
                            (long) i * spec.dilationH() * ps[2] + (long) j * spec.dilationW() * ps[3]);
                    View plane = colsTaps.withShape(planeShape, planeStrides, i * cs[3] + j * cs[4]);
                    be.binary(BinaryOp.ADD, window, plane, window);
                }
            }
            be.copy(interior(padded, g), gradInput);
        } finally {
            be.release(cols.buffer());
            be.release(padded.buffer());
            releaseIfCopy(be, w, weight);
            releaseIfCopy(be, go, gradOut);
        }
    }

    static void conv2dBackwardWeight(Backend be, View input, View gradOut, Conv2dSpec spec, View gradWeight) {
        Geometry g = Geometry.of(input.shape(), gradWeight.shape(), gradOut.shape(), spec);
        View go = dense(be, gradOut);
        View cols = im2col(be, input, g);
        View perImage = be.allocateView(gradOut.dtype(), g.n, g.groups, g.coutG(), g.k());
        try {
            long[] cs = cols.strides();
            View colsT = cols.withShape(new int[] {g.n, g.groups, g.p(), g.k()}, new long[] {cs[0], cs[1], 1, cs[2]}, 0);
            be.matmul(grouped(go, g.groups), colsT, perImage);
            // Sum over the batch into the weight gradient, seen as (1, G, Cout/G, K).
            View dw = gradWeight.isContiguous() ? gradWeight : be.allocateView(gradWeight.dtype(), gradWeight.shape());
            be.reduce(ReduceOp.SUM, perImage, new int[] {0},
                    dw.withShape(new int[] {1, g.groups, g.coutG(), g.k()}, new long[] {0, (long) g.coutG() * g.k(), g.k(), 1}, dw.offset()));
            if (dw != gradWeight) {
                be.copy(dw, gradWeight);
                be.release(dw.buffer());
            }
        } finally {
            be.release(cols.buffer());
            be.release(perImage.buffer());
            releaseIfCopy(be, go, gradOut);
        }
    }
}
