package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;
import dev.kiln.backend.Conv2dSpec;

/**
 * Transposed 2-D convolution over NCHW input with a square kernel, as PyTorch's {@code nn.ConvTranspose2d}:
 * weight (in, out/groups, k, k), output size {@code (H - 1) stride - 2 padding + dilation (k - 1) + outputPadding + 1},
 * PyTorch's default init (uniform on +-1/sqrt(fan-in), fan-in taken from the weight's dimension 1 as PyTorch does).
 */
public final class ConvTranspose2d extends Module {
    private final int inChannels;
    private final int outChannels;
    private final int kernel;
    private final int outputPadding;
    private final Conv2dSpec spec;

    /**
     * A square transposed convolution with stride 1, no padding, and a bias.
     *
     * @param inChannels the input channels
     * @param outChannels the output channels
     * @param kernel the kernel's side
     */
    public ConvTranspose2d(int inChannels, int outChannels, int kernel) { this(inChannels, outChannels, kernel, 1, 0, 0, 1, true, 1); }

    /**
     * A square transposed convolution with a bias.
     *
     * @param inChannels the input channels
     * @param outChannels the output channels
     * @param kernel the kernel's side
     * @param stride the step
     * @param padding the padding removed from each side of the output
     */
    public ConvTranspose2d(int inChannels, int outChannels, int kernel, int stride, int padding) {
        this(inChannels, outChannels, kernel, stride, padding, 0, 1, true, 1);
    }

    /**
     * PyTorch's argument order: in, out, kernel, stride, padding, output_padding, groups, bias, dilation.
     *
     * @param inChannels the input channels
     * @param outChannels the output channels
     * @param kernel the kernel's side
     * @param stride the step
     * @param padding the padding removed from each side of the output
     * @param outputPadding extra rows and columns added on one side of the output
     * @param groups the channel groups, dividing both channel counts
     * @param bias whether to learn a bias
     * @param dilation the spacing between kernel taps
     * @throws IllegalArgumentException if a size is not positive or a channel count is not divisible by groups
     */
    public ConvTranspose2d(int inChannels, int outChannels, int kernel, int stride, int padding, int outputPadding, int groups, boolean bias, int dilation) {
        if (inChannels <= 0 || outChannels <= 0 || kernel <= 0 || groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new IllegalArgumentException("ConvTranspose2d: need positive sizes with channels divisible by groups, got in=" + inChannels + " out="
                    + outChannels + " kernel=" + kernel + " groups=" + groups);
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.outputPadding = outputPadding;
        this.spec = new Conv2dSpec(stride, stride, padding, padding, dilation, dilation, groups);
        int fanIn = outChannels / groups * kernel * kernel;
        registerParameter("weight", Init.fanInUniform(fanIn, inChannels, outChannels / groups, kernel, kernel));
        if (bias) registerParameter("bias", Init.fanInUniform(fanIn, outChannels));
    }

    /**
     * {@return the weight (in, out / groups, kernel, kernel)}
     */
    public Tensor weight() { return param("weight"); }

    /**
     * {@return the bias (out), or null}
     */
    public Tensor bias() { return optionalParam("bias"); }

    @Override
    public Tensor forward(Tensor input) { return Functional.convTranspose2d(input, weight(), bias(), spec, outputPadding, outputPadding); }

    @Override
    protected String describe() {
        return "ConvTranspose2d(" + inChannels + ", " + outChannels + ", kernel=" + kernel + ", stride=" + spec.strideH() + ", padding=" + spec.padH()
                + (outputPadding != 0 ? ", output_padding=" + outputPadding : "") + (spec.dilationH() != 1 ? ", dilation=" + spec.dilationH() : "")
                + (spec.groups() != 1 ? ", groups=" + spec.groups() : "") + ")";
    }
}
