package dev.kiln.kernel;

import dev.kiln.DType;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.View;

/**
 * Convolution on a {@link KernelBackend}: the im2col / col2im kernels of conv.cl feeding the backend's GEMM. Each
 * product is one batched matmul over (image, group) matrices; temporaries come from and go back to the backend's
 * pool. The backend's entry points hold its monitor while these run, and return early on empty outputs.
 *
 * @param <M> the runtime's raw allocation handle
 */
final class KernelConvolution<M> {
    private final KernelBackend<M> backend;

    KernelConvolution(KernelBackend<M> backend) { this.backend = backend; }

    void forward(View input, View weight, Conv2dSpec spec, View out) {
        DType t = backend.floatingType("conv2d", out.dtype());
        ConvGeometry g = ConvGeometry.of(input.shape(), weight.shape(), out.shape(), spec);
        // Columns (N, G, K, P): each image and group is one product W_g (Cout/G x K) @ cols (K x P).
        View cols = backend.allocateView(t, g.n(), g.groups(), g.k(), g.p());
        View w = taps(weight, g, g.n()), o = ConvGeometry.planes(out, g.groups());
        View dense = o == null ? backend.allocateView(t, out.shape()) : null;
        try {
            im2col(t, input, g, cols, true);
            backend.matmul(w, cols, o != null ? o : ConvGeometry.planes(dense, g.groups()));
            if (dense != null) backend.copy(dense, out);
        } finally {
            releaseAll(cols, w.buffer() != weight.buffer() ? w : null, dense);
        }
    }

    void backwardInput(View gradOut, View weight, Conv2dSpec spec, View gradInput) {
        DType t = backend.floatingType("conv2dBackwardInput", gradInput.dtype());
        ConvGeometry g = ConvGeometry.of(gradInput.shape(), weight.shape(), gradOut.shape(), spec);
        // cols (N, G, K, P) = W_g^T (K x Cout/G) @ gradOut (Cout/G x P), then col2im sums each tap into place.
        View cols = backend.allocateView(t, g.n(), g.groups(), g.k(), g.p());
        View w = taps(weight, g, g.n()), go = densePlanes(gradOut, g);
        try {
            long[] ws = w.strides();
            backend.matmul(w.withShape(new int[] {g.n(), g.groups(), g.k(), g.coutG()}, new long[] {0, ws[1], ws[3], ws[2]}, w.offset()),
                    ConvGeometry.planes(go, g.groups()), cols);
            g.args(backend.launch("conv", KernelTypes.defines("T", t), "col2im_" + t))
                    .mem(backend.buf(cols.buffer())).longs(cols.strides()).i64(cols.offset())
                    .mem(backend.buf(gradInput.buffer())).longs(gradInput.strides()).i64(gradInput.offset())
                    .run(new long[] {g.w(), g.h(), (long) g.n() * g.c()}, null);
        } finally {
            releaseAll(cols, w.buffer() != weight.buffer() ? w : null, go != gradOut ? go : null);
        }
    }

    void backwardWeight(View input, View gradOut, Conv2dSpec spec, View gradWeight) {
        DType t = backend.floatingType("conv2dBackwardWeight", gradWeight.dtype());
        ConvGeometry g = ConvGeometry.of(input.shape(), gradWeight.shape(), gradOut.shape(), spec);
        if (gradOut.numel() == 0) {
            backend.fill(gradWeight, 0);
            return;
        }
        // Columns (N, G, P, K), so that each image's product gradOut (Cout/G x P) @ cols (P x K) reads them row by
        // row without a transposing copy; the per-image products are then summed over the batch.
        View cols = backend.allocateView(t, g.n(), g.groups(), g.p(), g.k());
        View go = densePlanes(gradOut, g);
        View dw = g.taps(gradWeight, 1);
        View dense = dw == null ? backend.allocateView(t, gradWeight.shape()) : null;
        if (dense != null) dw = g.taps(dense, 1);
        View perImage = g.n() > 1 ? backend.allocateView(t, g.n(), g.groups(), g.coutG(), g.k()) : null;
        try {
            im2col(t, input, g, cols, false);
            backend.matmul(ConvGeometry.planes(go, g.groups()), cols, perImage != null ? perImage : dw);
            if (perImage != null) backend.reduce(ReduceOp.SUM, perImage, new int[] {0}, dw);
            if (dense != null) backend.copy(dense, gradWeight);
        } finally {
            releaseAll(cols, go != gradOut ? go : null, dense, perImage);
        }
    }

    /** Writes the columns of {@code input} into {@code cols}: (N, G, K, P) when {@code pInner}, else (N, G, P, K). */
    private void im2col(DType t, View input, ConvGeometry g, View cols, boolean pInner) {
        long[] cs = cols.strides();
        long[] nGkp = pInner ? cs : new long[] {cs[0], cs[1], cs[3], cs[2]};
        g.args(backend.launch("conv", KernelTypes.defines("T", t), "im2col_" + t))
                .mem(backend.buf(input.buffer())).longs(input.strides()).i64(input.offset())
                .mem(backend.buf(cols.buffer())).longs(nGkp).i64(cols.offset())
                .run(new long[] {g.ow(), g.oh(), (long) g.n() * g.groups() * g.k()}, null);
    }

    /** The weight as (images, G, Cout/G, K) matrices, through a dense copy when its taps do not merge. */
    private View taps(View weight, ConvGeometry g, int images) {
        View w = g.taps(weight, images);
        if (w != null) return w;
        View dense = backend.allocateView(weight.dtype(), weight.shape());
        backend.copy(weight, dense);
        return g.taps(dense, images);
    }

    /** An NCHW tensor whose planes merge into matrices: itself, or a dense copy. */
    private View densePlanes(View nchw, ConvGeometry g) {
        if (ConvGeometry.planes(nchw, g.groups()) != null) return nchw;
        View dense = backend.allocateView(nchw.dtype(), nchw.shape());
        backend.copy(nchw, dense);
        return dense;
    }

    /** Returns temporaries to the pool; later work on the in-order queue still sees their contents. */
    private void releaseAll(View... temporaries) {
        for (View v : temporaries) if (v != null) backend.release(v.buffer());
    }
}
