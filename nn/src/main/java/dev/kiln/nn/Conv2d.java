package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;
import dev.kiln.backend.Conv2dSpec;

/** 2-D convolution over NCHW input with a square kernel, weight (out, in/groups, k, k), PyTorch's default init. */
public final class Conv2d extends Module {
    private final int inChannels;
    private final int outChannels;
    private final int kernel;
    private final Conv2dSpec spec;
    /** "same" or "valid" when the padding was given by name, else null (the spec's padding applies). */
    private final String paddingMode;

    /**
     * A square convolution with stride 1, no padding, and a bias.
     *
     * @param inChannels the input channels
     * @param outChannels the output channels
     * @param kernel the kernel's side
     */
    public Conv2d(int inChannels, int outChannels, int kernel) { this(inChannels, outChannels, kernel, 1, 0, 1, 1, true); }

    /**
     * A square convolution with a bias.
     *
     * @param inChannels the input channels
     * @param outChannels the output channels
     * @param kernel the kernel's side
     * @param stride the step
     * @param padding zeros added on each side
     */
    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding) {
        this(inChannels, outChannels, kernel, stride, padding, 1, 1, true);
    }

    /**
     * A square convolution with every option.
     *
     * @param inChannels the input channels
     * @param outChannels the output channels
     * @param kernel the kernel's side
     * @param stride the step
     * @param padding zeros added on each side
     * @param dilation the spacing between kernel taps
     * @param groups the channel groups, dividing both channel counts
     * @param bias whether to learn a bias
     * @throws IllegalArgumentException if a size is not positive or a channel count is not divisible by groups
     */
    public Conv2d(int inChannels, int outChannels, int kernel, int stride, int padding, int dilation, int groups, boolean bias) {
        this(inChannels, outChannels, kernel, new Conv2dSpec(stride, stride, padding, padding, dilation, dilation, groups), null, bias);
    }

    /**
     * With PyTorch's string padding: {@code "same"} (stride 1; even kernels pad one more at the bottom and right)
     * or {@code "valid"}.
     *
     * @param inChannels the input channels
     * @param outChannels the output channels
     * @param kernel the kernel's side
     * @param stride the step
     * @param padding {@code "same"} or {@code "valid"}
     * @param dilation the spacing between kernel taps
     * @param groups the channel groups, dividing both channel counts
     * @param bias whether to learn a bias
     * @throws IllegalArgumentException for another padding string, {@code "same"} with a stride other than 1, a size
     *     that is not positive or a channel count not divisible by groups
     */

    public Conv2d(int inChannels, int outChannels, int kernel, int stride, String padding, int dilation, int groups, boolean bias) {
        this(inChannels, outChannels, kernel, new Conv2dSpec(stride, stride, 0, 0, dilation, dilation, groups), checkMode(padding, stride), bias);
    }

    private static String checkMode(String padding, int stride) {
        if (!"same".equals(padding) && !"valid".equals(padding))
            throw new IllegalArgumentException("Conv2d: padding must be \"same\" or \"valid\", got \"" + padding + "\"");
        if ("same".equals(padding) && stride != 1)
            throw new IllegalArgumentException("Conv2d: padding=\"same\" needs stride 1, got " + stride);
        return padding;
    }

    private Conv2d(int inChannels, int outChannels, int kernel, Conv2dSpec spec, String paddingMode, boolean bias) {
        int groups = spec.groups();
        if (inChannels <= 0 || outChannels <= 0 || kernel <= 0 || groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new IllegalArgumentException("Conv2d: need positive sizes with channels divisible by groups, got in=" + inChannels + " out="
                    + outChannels + " kernel=" + kernel + " groups=" + groups);
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.spec = spec;
        this.paddingMode = paddingMode;
        int fanIn = inChannels / groups * kernel * kernel;
        registerParameter("weight", Init.fanInUniform(fanIn, outChannels, inChannels / groups, kernel, kernel));
        if (bias) registerParameter("bias", Init.fanInUniform(fanIn, outChannels));
    }

    /**
     * {@return the weight (out, in / groups, kernel, kernel)}
     */
    public Tensor weight() { return param("weight"); }

    /**
     * {@return the bias (out), or null}
     */
    public Tensor bias() { return optionalParam("bias"); }

    @Override
    public Tensor forward(Tensor input) {
        if (paddingMode != null) return Functional.conv2d(input, weight(), bias(), spec.strideH(), paddingMode, spec.dilationH(), spec.groups());
        return Functional.conv2d(input, weight(), bias(), spec);
    }

    @Override
    protected String describe() {
        return "Conv2d(" + inChannels + ", " + outChannels + ", kernel=" + kernel + ", stride=" + spec.strideH() + ", padding=" + (paddingMode != null ? "'" + paddingMode + "'" : spec.padH())
                + (spec.dilationH() != 1 ? ", dilation=" + spec.dilationH() : "") + (spec.groups() != 1 ? ", groups=" + spec.groups() : "") + ")";
    }
}
