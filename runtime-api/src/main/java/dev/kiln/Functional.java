package dev.kiln;

import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.Pool2dSpec;

/**
 * Neural-network functions over tensors, in the spirit of {@code torch.nn.functional}: every one differentiable,
 * every one backend-neutral. Images are NCHW; a 3-D (C, H, W) input is treated as a batch of one, as in PyTorch.
 * Bias, weight and similar optional tensors may be null.
 */
public final class Functional {
    private Functional() {}

    /** {@code x @ weight^T + bias} with weight (out, in); bias may be null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) { return LinearAlgebra.linear(x, weight, bias); }

    /** Rows of {@code weight} (num_embeddings, dim) at integer {@code indices}. */
    public static Tensor embedding(Tensor indices, Tensor weight) { return Indexing.embedding(indices, weight); }

    // ---- convolution ---------------------------------------------------------------------------------------

    /** Convolution with weight (Cout, Cin/groups, KH, KW), stride 1 and no padding. */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias) { return conv2d(input, weight, bias, 1, 0, 1, 1); }

    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int stride, int padding) {
        return conv2d(input, weight, bias, stride, padding, 1, 1);
    }

    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int stride, int padding, int dilation, int groups) {
        return Convolution.conv2d(input, weight, bias, new Conv2dSpec(stride, stride, padding, padding, dilation, dilation, groups));
    }

    /**
     * Convolution with PyTorch's string padding: {@code "valid"} (none) or {@code "same"} (output as large as the
     * input; stride 1 only). When the total padding {@code dilation * (k - 1)} is odd, the extra row and column go
     * to the bottom and right, as in PyTorch.
     */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int stride, String padding, int dilation, int groups) {
        return Convolution.conv2d(input, weight, bias, stride, padding, dilation, groups);
    }

    /** Convolution with a different stride, padding or dilation per axis. */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, Conv2dSpec spec) { return Convolution.conv2d(input, weight, bias, spec); }

    /**
     * Transposed convolution ("deconvolution"), the adjoint of {@link #conv2d}: weight (Cin, Cout/groups, KH, KW),
     * output size {@code (H - 1) * stride - 2 * padding + dilation * (KH - 1) + outputPadding + 1}.
     */
    public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, int stride, int padding, int outputPadding, int dilation, int groups) {
        return Convolution.convTranspose2d(input, weight, bias, new Conv2dSpec(stride, stride, padding, padding, dilation, dilation, groups),
                outputPadding, outputPadding);
    }

    public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, int stride, int padding) {
        return convTranspose2d(input, weight, bias, stride, padding, 0, 1, 1);
    }

    public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, Conv2dSpec spec, int outputPaddingH, int outputPaddingW) {
        return Convolution.convTranspose2d(input, weight, bias, spec, outputPaddingH, outputPaddingW);
    }

    /** Pads the last two dimensions with a constant (PyTorch's {@code F.pad} with four values, mode "constant"). */
    public static Tensor pad2d(Tensor input, int left, int right, int top, int bottom, double value) {
        return Padding.pad2d(input, left, right, top, bottom, value);
    }

    // ---- pooling -------------------------------------------------------------------------------------------

    /** Max pooling with a square window and stride equal to the kernel. */
    public static Tensor maxPool2d(Tensor input, int kernel) { return maxPool2d(input, kernel, kernel, 0); }

    public static Tensor maxPool2d(Tensor input, int kernel, int stride, int padding) {
        return maxPool2dWithIndices(input, Pool2dSpec.of(kernel, stride, padding)).values();
    }

    public static Tensor maxPool2d(Tensor input, Pool2dSpec spec) { return maxPool2dWithIndices(input, spec).values(); }

    /**
     * Max pooling that also returns, like PyTorch's {@code return_indices=True}, where each maximum came from:
     * int64 flat indices {@code h * W + w} into each input plane. Ties go to the first element of the window.
     */
    public static Tensor.ValuesIndices maxPool2dWithIndices(Tensor input, Pool2dSpec spec) { return Pooling.maxPool2d(input, spec); }

    /** Average pooling counting the padding, with stride equal to the kernel. */
    public static Tensor avgPool2d(Tensor input, int kernel) { return avgPool2d(input, kernel, kernel, 0); }

    public static Tensor avgPool2d(Tensor input, int kernel, int stride, int padding) {
        return Pooling.avgPool2d(input, Pool2dSpec.of(kernel, stride, padding), true);
    }

    /** Average pooling; {@code countIncludePad} chooses whether padded zeros count in each window's divisor. */
    public static Tensor avgPool2d(Tensor input, Pool2dSpec spec, boolean countIncludePad) { return Pooling.avgPool2d(input, spec, countIncludePad); }

    /** Average pooling dividing every window's sum by {@code divisorOverride} (PyTorch's divisor_override; 0 for none). */
    public static Tensor avgPool2d(Tensor input, Pool2dSpec spec, boolean countIncludePad, int divisorOverride) {
        return Pooling.avgPool2d(input, spec, countIncludePad, divisorOverride);
    }

    /** Average pooling to a fixed output size, with PyTorch's window bounds floor(i*H/oh) to ceil((i+1)*H/oh). */
    public static Tensor adaptiveAvgPool2d(Tensor input, int outH, int outW) { return Pooling.adaptiveAvgPool2d(input, outH, outW); }

    /** Mean over the two spatial dimensions, kept as size 1: (N, C, H, W) to (N, C, 1, 1). */
    public static Tensor globalAvgPool2d(Tensor input) { return Pooling.globalAvgPool2d(input); }

    // ---- normalisation and dropout -------------------------------------------------------------------------

    /**
     * Batch normalisation over (N, C, ...) with PyTorch's semantics: in training the batch statistics normalise
     * and the running statistics (if given) are updated in place with {@code momentum}, the variance unbiased;
     * in evaluation the running statistics normalise.
     */
    public static Tensor batchNorm(Tensor input, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                                   boolean training, double momentum, double eps) {
        return Normalization.batchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps, true);
    }

    /**
     * {@link #batchNorm} with the running variance's estimator chosen: the unbiased batch variance (PyTorch) or,
     * with {@code unbiasedRunningVar} false, the biased one that also normalises (ONNX BatchNormalization).
     */
    public static Tensor batchNorm(Tensor input, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                                   boolean training, double momentum, double eps, boolean unbiasedRunningVar) {
        return Normalization.batchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps, unbiasedRunningVar);
    }

    /** Layer normalisation over the trailing {@code normalizedShape} dimensions. */
    public static Tensor layerNorm(Tensor input, int[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        return Normalization.layerNorm(input, normalizedShape, weight, bias, eps);
    }

    /** A normalisation's output with the statistics it used; mean and invStd keep the reduced dimensions as 1. */
    public record NormalizedWithStatistics(Tensor output, Tensor mean, Tensor invStd) {}

    /** {@link #layerNorm}, also returning the mean and 1 / sqrt(var + eps) of each normalised slice (differentiable). */
    public static NormalizedWithStatistics layerNormWithStatistics(Tensor input, int[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        return Normalization.layerNormWithStatistics(input, normalizedShape, weight, bias, eps);
    }

    /** Inverted dropout: in training, zeroes elements with probability p and scales the rest by 1/(1-p). */
    public static Tensor dropout(Tensor input, double p, boolean training) { return Normalization.dropout(input, p, training); }

    /** {@link #dropout(Tensor, double, boolean)} with masks from {@code generator} (null: the default generator). */
    public static Tensor dropout(Tensor input, double p, boolean training, dev.kiln.random.Generator generator) {
        return Normalization.dropout(input, p, training, generator);
    }

    // ---- losses --------------------------------------------------------------------------------------------

    /** PyTorch's default {@code ignore_index}: targets equal to it contribute nothing. */
    public static final int IGNORE_INDEX = Losses.DEFAULT_IGNORE_INDEX;

    /** Mean cross entropy of logits (N, C, ...) against class indices or class probabilities. */
    public static Tensor crossEntropy(Tensor input, Tensor target) {
        return crossEntropy(input, target, null, IGNORE_INDEX, Reduction.MEAN, 0);
    }

    /**
     * Cross entropy of logits against class indices (an int64/int32 target of shape (N, d1, ...)) or class
     * probabilities (a floating target of the input's shape). With class weights, MEAN divides by the summed
     * weights of the non-ignored targets (indices) or by the number of samples (probabilities).
     */
    public static Tensor crossEntropy(Tensor input, Tensor target, Tensor weight, int ignoreIndex, Reduction reduction, double labelSmoothing) {
        return Losses.crossEntropy(input, target, weight, ignoreIndex, reduction, labelSmoothing);
    }

    /** Negative log-likelihood of log-probabilities (N, C, ...) at integer class targets, mean-reduced. */
    public static Tensor nllLoss(Tensor input, Tensor target) { return nllLoss(input, target, null, IGNORE_INDEX, Reduction.MEAN); }

    public static Tensor nllLoss(Tensor input, Tensor target, Tensor weight, int ignoreIndex, Reduction reduction) {
        return Losses.nllLoss(input, target, weight, ignoreIndex, reduction);
    }

    public static Tensor mseLoss(Tensor input, Tensor target) { return Losses.mseLoss(input, target, Reduction.MEAN); }

    public static Tensor mseLoss(Tensor input, Tensor target, Reduction reduction) { return Losses.mseLoss(input, target, reduction); }

    public static Tensor l1Loss(Tensor input, Tensor target) { return Losses.l1Loss(input, target, Reduction.MEAN); }

    public static Tensor l1Loss(Tensor input, Tensor target, Reduction reduction) { return Losses.l1Loss(input, target, reduction); }

    /** Binary cross entropy of probabilities in [0, 1]; weight broadcasts over the input. */
    public static Tensor binaryCrossEntropy(Tensor input, Tensor target) { return Losses.binaryCrossEntropy(input, target, null, Reduction.MEAN); }

    public static Tensor binaryCrossEntropy(Tensor input, Tensor target, Tensor weight, Reduction reduction) {
        return Losses.binaryCrossEntropy(input, target, weight, reduction);
    }

    public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target) {
        return Losses.binaryCrossEntropyWithLogits(input, target, null, null, Reduction.MEAN);
    }

    /** Binary cross entropy on logits; {@code posWeight} weighs the positive term per class (last dimension). */
    public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor weight, Tensor posWeight, Reduction reduction) {
        return Losses.binaryCrossEntropyWithLogits(input, target, weight, posWeight, reduction);
    }

    /** {@code x} where target is 1, {@code max(0, margin - x)} where it is -1. */
    public static Tensor hingeEmbeddingLoss(Tensor input, Tensor target, double margin, Reduction reduction) {
        return Losses.hingeEmbeddingLoss(input, target, margin, reduction);
    }

    /** {@code max(0, -target * (x1 - x2) + margin)} with target in {1, -1}. */
    public static Tensor marginRankingLoss(Tensor x1, Tensor x2, Tensor target, double margin, Reduction reduction) {
        return Losses.marginRankingLoss(x1, x2, target, margin, reduction);
    }
}
