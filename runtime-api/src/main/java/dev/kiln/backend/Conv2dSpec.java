package dev.kiln.backend;

/**
 * The geometry of a 2-D convolution over NCHW inputs and (Cout, Cin/groups, KH, KW) weights.
 * Padding is symmetric per axis.
 */
public record Conv2dSpec(int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups) {

    public Conv2dSpec {
        if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1 || groups < 1 || padH < 0 || padW < 0)
            throw new IllegalArgumentException("conv2d: stride, dilation and groups must be positive and padding non-negative, got " + this);
    }

    public static Conv2dSpec of(int stride, int padding) { return new Conv2dSpec(stride, stride, padding, padding, 1, 1, 1); }

    public int outH(int h, int kh) { return (h + 2 * padH - dilationH * (kh - 1) - 1) / strideH + 1; }

    public int outW(int w, int kw) { return (w + 2 * padW - dilationW * (kw - 1) - 1) / strideW + 1; }
}
