package dev.kiln.cpu.fused;

import dev.kiln.backend.Conv2dSpec;

/**
 * One convolution's sizes, as the column kernels see them: per image and group, the weight is a
 * (coutG x k) matrix and the columns a (k x p) matrix whose row (c, kh, kw) holds what that tap sees at every
 * output position.
 */
record ConvGeometry(int n, int c, int h, int w, int cout, int kh, int kw, int oh, int ow, Conv2dSpec spec) {

    static ConvGeometry of(int[] input, int[] weight, int[] out, Conv2dSpec spec) {
        return new ConvGeometry(input[0], input[1], input[2], input[3], weight[0], weight[2], weight[3], out[2], out[3], spec);
    }

    int groups() { return spec.groups(); }

    int cg() { return c / spec.groups(); }

    int coutG() { return cout / spec.groups(); }

    /** Depth of one group's product: its input channels times the kernel taps. */
    int k() { return cg() * kh * kw; }

    /** Output positions per image. */
    int p() { return oh * ow; }

    long inputPlane() { return (long) h * w; }

    /**
     * Whether the columns are the input itself: a 1x1 kernel at stride 1 without padding sees each pixel once,
     * in order, so an image whose rows follow each other is already its column matrix.
     */
    boolean columnsAreInput(long[] inputStrides) {
        return kh == 1 && kw == 1 && spec.strideH() == 1 && spec.strideW() == 1 && spec.padH() == 0 && spec.padW() == 0
                && (h == 1 || inputStrides[2] == w * inputStrides[3]);
    }

    /** Multiply-adds of the whole forward pass, the size that decides how to split the work. */
    long macs() { return (long) n * cout * k() * p(); }
}
