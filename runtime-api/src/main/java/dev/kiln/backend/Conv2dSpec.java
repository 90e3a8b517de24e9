package dev.kiln.backend;

/**
 * The geometry of a 2-D convolution over NCHW inputs and (Cout, Cin/groups, KH, KW) weights.
 * Padding is symmetric per axis.
 *
 * @param strideH the vertical step
 * @param strideW the horizontal step
 * @param padH the padding above and below
 * @param padW the padding left and right
 * @param dilationH the vertical spacing between kernel taps
 * @param dilationW the horizontal spacing between kernel taps
 * @param groups the channel groups
 */
public record Conv2dSpec(int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups) {

    /**
     * Checks the geometry.
     *
     * @throws IllegalArgumentException if a stride, dilation or groups is not positive or padding is negative
     */
    public Conv2dSpec {
        if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1 || groups < 1 || padH < 0 || padW < 0)
            throw new IllegalArgumentException("conv2d: stride, dilation and groups must be positive and padding non-negative, got " + this);
    }

    /**
     * The same stride and padding on both axes.
     *
     * @param stride the step on both axes
     * @param padding the padding on each side
     * @return the geometry, without dilation or groups
     */
    public static Conv2dSpec of(int stride, int padding) { return new Conv2dSpec(stride, stride, padding, padding, 1, 1, 1); }

    /**
     * The output height for an input of height {@code h} and a kernel of height {@code kh}.
     *
     * @param h the input height
     * @param kh the kernel height
     * @return the output height
     */
    public int outH(int h, int kh) { return (h + 2 * padH - dilationH * (kh - 1) - 1) / strideH + 1; }

    /**
     * The output width for an input of width {@code w} and a kernel of width {@code kw}.
     *
     * @param w the input width
     * @param kw the kernel width
     * @return the output width
     */
    public int outW(int w, int kw) { return (w + 2 * padW - dilationW * (kw - 1) - 1) / strideW + 1; }
}
