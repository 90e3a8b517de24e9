package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;

/** 1-D convolution over (N, C, L) sequences, weight (out, in / groups, kernel), PyTorch's default init. */
public final class Conv1d extends Module {
    private final int inChannels;
    private final int outChannels;
    private final int kernel;
    private final int stride;
    private final int padding;
    private final int dilation;
    private final int groups;

    /**
     * A convolution with stride 1, no padding, and a bias.
     *
     * @param inChannels the input channels
     * @param outChannels the output channels
     * @param kernel the kernel's length
     */
    public Conv1d(int inChannels, int outChannels, int kernel) { this(inChannels, outChannels, kernel, 1, 0, 1, 1, true); }

    /**
     * A convolution with every option.
     *
     * @param inChannels the input channels
     * @param outChannels the output channels
     * @param kernel the kernel's length
     * @param stride the step
     * @param padding zeros added at each end
     * @param dilation the spacing between kernel taps
     * @param groups the channel groups, dividing both channel counts
     * @param bias whether to learn a bias
     * @throws IllegalArgumentException if a size is not positive or a channel count is not divisible by groups
     */
    public Conv1d(int inChannels, int outChannels, int kernel, int stride, int padding, int dilation, int groups, boolean bias) {
        if (inChannels <= 0 || outChannels <= 0 || kernel <= 0 || stride <= 0 || padding < 0 || dilation <= 0 || groups <= 0
                || inChannels % groups != 0 || outChannels % groups != 0)
            throw new IllegalArgumentException("Conv1d: need positive sizes with channels divisible by groups, got in=" + inChannels + " out="
                    + outChannels + " kernel=" + kernel + " stride=" + stride + " padding=" + padding + " dilation=" + dilation + " groups=" + groups);
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.stride = stride;
        this.padding = padding;
        this.dilation = dilation;
        this.groups = groups;
        int fanIn = inChannels / groups * kernel;
        registerParameter("weight", Init.fanInUniform(fanIn, outChannels, inChannels / groups, kernel));
        if (bias) registerParameter("bias", Init.fanInUniform(fanIn, outChannels));
    }

    /** {@return the weight (out, in / groups, kernel)} */
    public Tensor weight() { return param("weight"); }

    /** {@return the bias (out), or null} */
    public Tensor bias() { return optionalParam("bias"); }

    @Override
    public Tensor forward(Tensor input) { return Functional.conv1d(input, weight(), bias(), stride, padding, dilation, groups); }

    @Override
    protected String describe() {
        return "Conv1d(" + inChannels + ", " + outChannels + ", kernel=" + kernel + ", stride=" + stride + ", padding=" + padding
                + (dilation != 1 ? ", dilation=" + dilation : "") + (groups != 1 ? ", groups=" + groups : "") + ")";
    }
}
