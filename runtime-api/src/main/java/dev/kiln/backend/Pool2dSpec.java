package dev.kiln.backend;

/**
 * The window geometry of a 2-D pooling op over NCHW inputs, per axis, with PyTorch's meaning: padding is
 * symmetric and (a superset of PyTorch, as ONNX allows) smaller than the dilated window; with {@code ceilMode} the output size rounds up, but a window must
 * start inside the input or its left padding.
 *
 * @param kernelH the window's height
 * @param kernelW the window's width
 * @param strideH the vertical step
 * @param strideW the horizontal step
 * @param padH the padding above and below
 * @param padW the padding left and right
 * @param dilationH the vertical spacing between window taps
 * @param dilationW the horizontal spacing between window taps
 * @param ceilMode whether the output size rounds up
 */
public record Pool2dSpec(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW, int dilationH, int dilationW,
                         boolean ceilMode) {

    /**
     * Checks the geometry.
     *
     * @throws IllegalArgumentException if a size is not positive, padding is negative, or padding is not smaller than the dilated window
     */
    public Pool2dSpec {
        if (kernelH < 1 || kernelW < 1 || strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1 || padH < 0 || padW < 0)
            throw new IllegalArgumentException("pool2d: kernel, stride and dilation must be positive and padding non-negative, got "
                    + kernelH + "x" + kernelW + " stride " + strideH + "x" + strideW + " padding " + padH + "x" + padW
                    + " dilation " + dilationH + "x" + dilationW);
        // PyTorch caps padding at half the kernel; ONNX allows more. Every window must still reach the input.
        if (padH >= dilationH * (kernelH - 1) + 1 || padW >= dilationW * (kernelW - 1) + 1)
            throw new IllegalArgumentException("pool2d: padding " + padH + "x" + padW + " must be smaller than the window " + kernelH + "x" + kernelW
                    + " (dilation " + dilationH + "x" + dilationW + "), or some windows would see only padding");
    }

    /**
     * A square window; stride 0 means "equal to the kernel", PyTorch's default.
     *
     * @param kernel the window's side
     * @param stride the step, or 0 for the kernel
     * @param padding the padding on each side
     * @return the geometry, without dilation or ceil mode
     */
    public static Pool2dSpec of(int kernel, int stride, int padding) {
        int s = stride == 0 ? kernel : stride;
        return new Pool2dSpec(kernel, kernel, s, s, padding, padding, 1, 1, false);
    }

    /**
     * With or without ceil mode.
     *
     * @param ceil whether the output size rounds up
     * @return this geometry with that change
     */
    public Pool2dSpec withCeilMode(boolean ceil) {
        return new Pool2dSpec(kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, ceil);
    }

    /**
     * With another dilation.
     *
     * @param dilation the spacing between taps on both axes
     * @return this geometry with that change
     */
    public Pool2dSpec withDilation(int dilation) {
        return new Pool2dSpec(kernelH, kernelW, strideH, strideW, padH, padW, dilation, dilation, ceilMode);
    }

    /**
     * The output height for an input of height {@code h}.
     *
     * @param h the input height
     * @return the output height
     */
    public int outH(int h) { return outSize(h, kernelH, strideH, padH, dilationH); }

    /**
     * The output width for an input of width {@code w}.
     *
     * @param w the input width
     * @return the output width
     */
    public int outW(int w) { return outSize(w, kernelW, strideW, padW, dilationW); }

    /**
     * Rows of padding needed below an input of height h so that the last window fits (at least 0, may exceed padH).
     *
     * @param h the input height
     * @return the rows of padding
     */
    public int padBelow(int h) { return padAfter(h, outH(h), kernelH, strideH, padH, dilationH); }

    /**
     * Columns of padding needed right of an input of width w so that the last window fits.
     *
     * @param w the input width
     * @return the columns of padding
     */
    public int padRight(int w) { return padAfter(w, outW(w), kernelW, strideW, padW, dilationW); }

    private static int padAfter(int in, int out, int k, int s, int p, int d) {
        return Math.max(0, (out - 1) * s + d * (k - 1) + 1 - in - p);
    }

    private int outSize(int in, int k, int s, int p, int d) {
        int span = in + 2 * p - d * (k - 1) - 1;
        if (span < 0) return 0;
        int out = (ceilMode ? Math.ceilDiv(span, s) : span / s) + 1;
        if (ceilMode && (out - 1) * s >= in + p) out--;
        return out;
    }
}
