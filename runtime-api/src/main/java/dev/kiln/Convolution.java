package dev.kiln;

import dev.kiln.backend.Backend;
import dev.kiln.backend.Conv2dSpec;

import java.util.function.Function;
import java.lang.ref.Reference;

/**
 * 2-D convolution and its adjoint, transposed convolution, over NCHW tensors. Both run on the backend's three
 * fused convolution entry points: a transposed convolution's forward pass is a convolution's input gradient,
 * and its input gradient is a convolution, so one set of kernels serves both ops and all four gradients.
 */
final class Convolution {
    private Convolution() {}

    static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int stride, String padding, int dilation, int groups) {
        boolean same = "same".equals(padding);
        if (!same && !"valid".equals(padding))
            throw new IllegalArgumentException("conv2d: padding must be \"same\" or \"valid\" (or a number), got \"" + padding + "\"");
        if (same && stride != 1)
            throw new IllegalArgumentException("conv2d: padding=\"same\" needs stride 1 (as in PyTorch), got stride " + stride);
        if (!same || weight.dim() != 4) return conv2d(input, weight, bias, new Conv2dSpec(stride, stride, 0, 0, dilation, dilation, groups));
        int totalH = dilation * (weight.size(2) - 1), totalW = dilation * (weight.size(3) - 1);
        if (totalH % 2 == 0 && totalW % 2 == 0)
            return conv2d(input, weight, bias, new Conv2dSpec(1, 1, totalH / 2, totalW / 2, dilation, dilation, groups));
        // Even kernels: the padding is asymmetric, which Conv2dSpec cannot say; pad explicitly, more at the end.
        try (Tensor padded = Padding.pad2d(input, totalW / 2, totalW - totalW / 2, totalH / 2, totalH - totalH / 2, 0)) {
            return conv2d(padded, weight, bias, new Conv2dSpec(1, 1, 0, 0, dilation, dilation, groups));
        }
    }

    static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, Conv2dSpec spec) {
        return Autocast.lowerPrecision(xs -> convolve(xs[0], xs[1], xs[2], spec), input, weight, bias);
    }

    private static Tensor convolve(Tensor input, Tensor weight, Tensor bias, Conv2dSpec spec) {
        if (input.dim() == 3) return unbatched(input, x -> convolve(x, weight, bias, spec));
        checkOperands("conv2d", input, weight, bias, spec);
        int[] in = input.shape(), w = weight.shape();
        if (in[1] != w[1] * spec.groups() || w[0] % spec.groups() != 0)
            throw new IllegalArgumentException("conv2d: input " + Elementwise.describe(input) + " and weight " + Elementwise.describe(weight)
                    + " do not fit groups=" + spec.groups() + " (expected input channels = weight.size(1) * groups = " + w[1] * spec.groups()
                    + ", and out channels " + w[0] + " divisible by groups)");
        int oh = spec.outH(in[2], w[2]), ow = spec.outW(in[3], w[3]);
        if (oh < 1 || ow < 1)
            throw new IllegalArgumentException("conv2d: kernel " + w[2] + "x" + w[3] + " with dilation " + spec.dilationH() + "x" + spec.dilationW()
                    + " does not fit input " + Shapes.str(in) + " padded by " + spec.padH() + "x" + spec.padW());
        checkBias("conv2d", bias, w[0], weight);
        Backend be = input.backend();
        if (widensHalf(input))
            return Elementwise.inFloat32(input.dtype(), () -> convolve(input.to(DType.FLOAT32), weight.to(DType.FLOAT32), widened(bias), spec));
        Tensor out = Tensor.allocate(be, input.dtype(), in[0], w[0], oh, ow);
        if (out.numel() > 0) {
            if (weight.numel() == 0) be.fill(out.view, 0);
            else be.conv2d(input.view, weight.view, spec, out.view);
            Reference.reachabilityFence(new Object[] {input, weight, out});
        }
        out = Autograd.record("conv2d", out, new Tensor[] {input, weight}, g -> {
            Tensor gi = null, gw = null;
            if (input.requiresGrad()) {
                gi = Tensor.zeros(g.dtype(), g.device(), in);
                if (g.numel() > 0 && weight.numel() > 0) be.conv2dBackwardInput(g.view, weight.view, spec, gi.view);
                Reference.reachabilityFence(new Object[] {g, weight, gi});
            }
            if (weight.requiresGrad()) {
                gw = Tensor.zeros(g.dtype(), g.device(), w);
                if (g.numel() > 0 && weight.numel() > 0) be.conv2dBackwardWeight(input.view, g.view, spec, gw.view);
                Reference.reachabilityFence(new Object[] {input, g, gw});
            }
            return new Tensor[] {gi, gw};
        });
        return addChannelBias(out, bias);
    }

    /**
     * Transposed convolution: input (N, Cin, H, W), weight (Cin, Cout/groups, KH, KW), output
     * {@code (H - 1) * stride - 2 * pad + dilation * (KH - 1) + outputPadding + 1} rows (and likewise columns).
     */
    static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, Conv2dSpec spec, int outPadH, int outPadW) {
        return Autocast.lowerPrecision(xs -> transposed(xs[0], xs[1], xs[2], spec, outPadH, outPadW), input, weight, bias);
    }

    private static Tensor transposed(Tensor input, Tensor weight, Tensor bias, Conv2dSpec spec, int outPadH, int outPadW) {
        if (input.dim() == 3) return unbatched(input, x -> transposed(x, weight, bias, spec, outPadH, outPadW));
        checkOperands("conv_transpose2d", input, weight, bias, spec);
        int[] in = input.shape(), w = weight.shape();
        if (in[1] != w[0] || w[0] % spec.groups() != 0)
            throw new IllegalArgumentException("conv_transpose2d: input " + Elementwise.describe(input) + " and weight " + Elementwise.describe(weight)
                    + " do not fit groups=" + spec.groups() + " (expected input channels = weight.size(0), divisible by groups)");
        if (outPadH < 0 || outPadW < 0
                || (outPadH >= spec.strideH() && outPadH >= spec.dilationH()) || (outPadW >= spec.strideW() && outPadW >= spec.dilationW()))
            throw new IllegalArgumentException("conv_transpose2d: output padding " + outPadH + "x" + outPadW
                    + " must be non-negative and smaller than either stride or dilation, got " + spec);
        int oh = (in[2] - 1) * spec.strideH() - 2 * spec.padH() + spec.dilationH() * (w[2] - 1) + outPadH + 1;
        int ow = (in[3] - 1) * spec.strideW() - 2 * spec.padW() + spec.dilationW() * (w[3] - 1) + outPadW + 1;
        if (oh < 1 || ow < 1)
            throw new IllegalArgumentException("conv_transpose2d: input " + Shapes.str(in) + " with kernel " + w[2] + "x" + w[3]
                    + " and " + spec + " gives an empty output " + oh + "x" + ow);
        int cout = w[1] * spec.groups();
        checkBias("conv_transpose2d", bias, cout, weight);
        if (widensHalf(input))
            return Elementwise.inFloat32(input.dtype(),
                    () -> transposed(input.to(DType.FLOAT32), weight.to(DType.FLOAT32), widened(bias), spec, outPadH, outPadW));
        // The convolution this op is the adjoint of maps (N, Cout, oh, ow) to (N, Cin, outH(oh), outW(ow)). An
        // output padding of a stride or more (allowed below the dilation) makes that a row or column larger than
        // the input, which then gets zero rows there: they contribute nothing to the output.
        int extraH = spec.outH(oh, w[2]) - in[2], extraW = spec.outW(ow, w[3]) - in[3];
        if (extraH > 0 || extraW > 0) {
            try (Tensor grown = Padding.pad2d(input, 0, extraW, 0, extraH, 0)) {
                return addChannelBias(adjointOfConv(grown, weight, spec, cout, oh, ow), bias);
            }
        }
        return addChannelBias(adjointOfConv(input, weight, spec, cout, oh, ow), bias);
    }

    /** The transposed convolution proper: input already matches the convolution's output geometry. */
    private static Tensor adjointOfConv(Tensor input, Tensor weight, Conv2dSpec spec, int cout, int oh, int ow) {
        int[] in = input.shape(), w = weight.shape();
        Backend be = input.backend();
        Tensor out = Tensor.allocate(be, input.dtype(), in[0], cout, oh, ow);
        if (out.numel() > 0) {
            if (weight.numel() == 0 || input.numel() == 0) be.fill(out.view, 0);
            else be.conv2dBackwardInput(input.view, weight.view, spec, out.view);
            Reference.reachabilityFence(new Object[] {input, weight, out});
        }
        return Autograd.record("conv_transpose2d", out, new Tensor[] {input, weight}, g -> {
            Tensor gi = null, gw = null;
            if (input.requiresGrad()) {
                gi = Tensor.zeros(g.dtype(), g.device(), in);
                if (gi.numel() > 0 && weight.numel() > 0) be.conv2d(g.view, weight.view, spec, gi.view);
                Reference.reachabilityFence(new Object[] {g, weight, gi});
            }
            if (weight.requiresGrad()) {
                gw = Tensor.zeros(g.dtype(), g.device(), w);
                if (input.numel() > 0 && weight.numel() > 0) be.conv2dBackwardWeight(g.view, input.view, spec, gw.view);
                Reference.reachabilityFence(new Object[] {g, input, gw});
            }
            return new Tensor[] {gi, gw};
        });
    }

    /**
     * Whether a half-type convolution runs widened to float32 above the SPI: where the backend does not take half
     * views in all three convolution entry points (the backward pass needs the other two).
     */
    private static boolean widensHalf(Tensor input) {
        DType dt = input.dtype();
        if (dt.isComputeType()) return false;
        Backend be = input.backend();
        return !(be.computesHalf("conv2d", dt) && be.computesHalf("conv2dBackwardInput", dt) && be.computesHalf("conv2dBackwardWeight", dt));
    }

    private static Tensor widened(Tensor bias) { return bias == null ? null : bias.to(DType.FLOAT32); }

    private static void checkOperands(String op, Tensor input, Tensor weight, Tensor bias, Conv2dSpec spec) {
        Elementwise.sameDevice(op, input, weight);
        if (bias != null) Elementwise.sameDevice(op, input, bias);
        if (input.dim() != 4 || weight.dim() != 4)
            throw new IllegalArgumentException(op + ": expected a 4-D (N, C, H, W) or 3-D (C, H, W) input and a 4-D weight, got input "
                    + Elementwise.describe(input) + " and weight " + Elementwise.describe(weight));
        if (!input.dtype().isFloatingPoint() || weight.dtype() != input.dtype() || (bias != null && bias.dtype() != input.dtype()))
            throw new IllegalArgumentException(op + ": input, weight and bias must share one floating dtype, got input " + Elementwise.describe(input)
                    + ", weight " + Elementwise.describe(weight) + (bias == null ? "" : ", bias " + Elementwise.describe(bias)));
        if (spec == null) throw new IllegalArgumentException(op + ": the convolution spec is null");
    }

    private static void checkBias(String op, Tensor bias, int channels, Tensor weight) {
        if (bias != null && (bias.dim() != 1 || bias.size(0) != channels))
            throw new IllegalArgumentException(op + ": bias " + Elementwise.describe(bias) + " must be 1-D with one value per output channel ("
                    + channels + " for weight " + Shapes.str(weight.shape()) + ")");
    }

    /** {@code out + bias} with the bias along the channel dimension; out is consumed. */
    private static Tensor addChannelBias(Tensor out, Tensor bias) {
        if (bias == null) return out;
        try (out; Tensor b = bias.reshape(1, bias.size(0), 1, 1)) {
            return Elementwise.addInOwnType(out, b);
        }
    }

    /** Applies a batched op to an unbatched (C, H, W) input, as PyTorch does. */
    static Tensor unbatched(Tensor input, Function<Tensor, Tensor> batchedOp) {
        try (Tensor batch = input.unsqueeze(0); Tensor out = batchedOp.apply(batch)) {
            return out.squeeze(0);
        }
    }
}
