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
            // The fields are not assigned yet inside a compact constructor, so the message names the parameters.
            throw new IllegalArgumentException("conv2d: stride, dilation and groups must be positive and padding non-negative, got stride=("
                    + strideH + ", " + strideW + ") padding=(" + padH + ", " + padW + ") dilation=(" + dilationH + ", " + dilationW + ") groups=" + groups);
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
     * The output height.
     *
     * @param h the input height
     * @param kh the kernel height
     * @return the output height for this geometry
     * @throws IllegalArgumentException if the padded input is smaller than the dilated kernel
     */
    public int outH(int h, int kh) { return outSize("height", h, kh, padH, dilationH, strideH); }

    /**
     * The output width.
     *
     * @param w the input width
     * @param kw the kernel width
     * @return the output width for this geometry
     * @throws IllegalArgumentException if the padded input is smaller than the dilated kernel
     */
    public int outW(int w, int kw) {
 return outSize("width", w, kw, padW, dilationW, strideW); }

    /** In long arithmetic: a huge padding or dilation must not wrap into a plausible size. */
    private static int outSize(String axis, int in, int k, int pad, int dilation, int stride) {
        long out = Math.floorDiv(in + 2L * pad - (long) dilation * (k - 1) - 1, stride) + 1;
        if (out > Integer.MAX_VALUE)
            throw new IllegalArgumentException("conv2d: output " + axis + " " + out + " (input " + in + ", kernel " + k + ", padding " + pad
                    + ", dilation " + dilation + ", stride " + stride + ") does not fit a dimension");
        return (int) out;
    }
}
