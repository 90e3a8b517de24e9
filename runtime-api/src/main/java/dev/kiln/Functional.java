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

    /**
     * {@code x @ weight^T + bias} with weight (out, in); bias may be null.
     *
     * @param x the input (..., in)
     * @param weight (out, in)
     * @param bias the bias, or null
     * @return (..., out)
     */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) { return LinearAlgebra.linear(x, weight, bias); }

    /**
     * Rows of {@code weight} (num_embeddings, dim) at integer {@code indices}.
     *
     * @param indices integer indices
     * @param weight the table (num_embeddings, dim)
     * @return (indices' shape..., dim)
     */
    public static Tensor embedding(Tensor indices, Tensor weight) { return Indexing.embedding(indices, weight); }

    // ---- convolution ---------------------------------------------------------------------------------------

    /**
     * Convolution with weight (Cout, Cin/groups, KH, KW), stride 1 and no padding.
     *
     * @param input (N, Cin, H, W)
     * @param weight (Cout, Cin/groups, KH, KW)
     * @param bias the bias, or null
     * @return (N, Cout, OH, OW)
     */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias) { return conv2d(input, weight, bias, 1, 0, 1, 1); }

    /**
     * Convolution with the same stride and padding on both axes.
     *
     * @param input (N, Cin, H, W)
     * @param weight (Cout, Cin/groups, KH, KW)
     * @param bias the bias, or null
     * @param stride the step on both axes
     * @param padding the zero padding on each side
     * @return (N, Cout, OH, OW)
     */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int stride, int padding) {
        return conv2d(input, weight, bias, stride, padding, 1, 1);
    }

    /**
     * Convolution with PyTorch's {@code conv2d} arguments.
     *
     * @param input (N, Cin, H, W)
     * @param weight (Cout, Cin/groups, KH, KW)
     * @param bias the bias, or null
     * @param stride the step on both axes
     * @param padding the zero padding on each side
     * @param dilation the spacing between kernel taps
     * @param groups the channel groups
     * @return (N, Cout, OH, OW)
     */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int stride, int padding, int dilation, int groups) {
        return Convolution.conv2d(input, weight, bias, new Conv2dSpec(stride, stride, padding, padding, dilation, dilation, groups));
    }

    /**
     * Convolution with PyTorch's string padding: {@code "valid"} (none) or {@code "same"} (output as large as the
     * input; stride 1 only). When the total padding {@code dilation * (k - 1)} is odd, the extra row and column go
     * to the bottom and right, as in PyTorch.
     *
     * @param input (N, Cin, H, W)
     * @param weight (Cout, Cin/groups, KH, KW)
     * @param bias the bias, or null
     * @param stride the step on both axes
     * @param padding {@code "valid"} or {@code "same"}
     * @param dilation the spacing between kernel taps
     * @param groups the channel groups
     * @return (N, Cout, OH, OW)
     * @throws IllegalArgumentException for another padding string, or {@code "same"} with a stride other than 1
     */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int stride, String padding, int dilation, int groups) {
        return Convolution.conv2d(input, weight, bias, stride, padding, dilation, groups);
    }

    /**
     * Convolution with a different stride, padding or dilation per axis.
     *
     * @param input (N, Cin, H, W)
     * @param weight (Cout, Cin/groups, KH, KW)
     * @param bias the bias, or null
     * @param spec the geometry per axis
     * @return (N, Cout, OH, OW)
     */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, Conv2dSpec spec) { return Convolution.conv2d(input, weight, bias, spec); }

    /**
     * Transposed convolution ("deconvolution"), the adjoint of {@link #conv2d}: weight (Cin, Cout/groups, KH, KW),
     * output size {@code (H - 1) * stride - 2 * padding + dilation * (KH - 1) + outputPadding + 1}.
     *
     * @param input (N, Cin, H, W)
     * @param weight (Cin, Cout/groups, KH, KW)
     * @param bias the bias, or null
     * @param stride the step on both axes
     * @param padding the padding removed from each side
     * @param outputPadding extra rows and columns on one side
     * @param dilation the spacing between kernel taps
     * @param groups the channel groups
     * @return (N, Cout, OH, OW)
     */
    public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, int stride, int padding, int outputPadding, int dilation, int groups) {
        return Convolution.convTranspose2d(input, weight, bias, new Conv2dSpec(stride, stride, padding, padding, dilation, dilation, groups),
                outputPadding, outputPadding);
    }

    /**
     * Transposed convolution without dilation or groups.
     *
     * @param input (N, Cin, H, W)
     * @param weight (Cin, Cout/groups, KH, KW)
     * @param bias the bias, or null
     * @param stride the step on both axes
     * @param padding the padding removed from each side
     * @return (N, Cout, OH, OW)
     */
    public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, int stride, int padding) {
        return convTranspose2d(input, weight, bias, stride, padding, 0, 1, 1);
    }

    /**
     * Transposed convolution with a geometry per axis.
     *
     * @param input (N, Cin, H, W)
     * @param weight (Cin, Cout/groups, KH, KW)
     * @param bias the bias, or null
     * @param spec the geometry per axis
     * @param outputPaddingH extra rows at the bottom
     * @param outputPaddingW extra columns on the right
     * @return (N, Cout, OH, OW)
     */
    public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, Conv2dSpec spec, int outputPaddingH, int outputPaddingW) {
        return Convolution.convTranspose2d(input, weight, bias, spec, outputPaddingH, outputPaddingW);
    }

    /**
     * Pads the last two dimensions with a constant (PyTorch's {@code F.pad} with four values, mode "constant").
     *
     * @param input the input (..., H, W)
     * @param left columns added on the left
     * @param right columns added on the right
     * @param top rows added on top
     * @param bottom rows added at the bottom
     * @param value the fill value
     * @return the padded tensor
     */
    public static Tensor pad2d(Tensor input, int left, int right, int top, int bottom, double value) {
        return Padding.pad2d(input, left, right, top, bottom, value);
    }

    // ---- pooling -------------------------------------------------------------------------------------------

    /**
     * Max pooling with a square window and stride equal to the kernel.
     *
     * @param input (N, C, H, W)
     * @param kernel the window's side
     * @return the result
     */
    public static Tensor maxPool2d(Tensor input, int kernel) { return maxPool2d(input, kernel, kernel, 0); }

    /**
     * Max pooling with a square window.
     *
     * @param input (N, C, H, W)
     * @param kernel the window's side
     * @param stride the step
     * @param padding the implicit -infinity padding on each side
     * @return the result
     */
    public static Tensor maxPool2d(Tensor input, int kernel, int stride, int padding) {
        return maxPool2dWithIndices(input, Pool2dSpec.of(kernel, stride, padding)).values();
    }

    /**
     * Max pooling of any geometry.
     *
     * @param input (N, C, H, W)
     * @param spec the geometry per axis
     * @return the result
     */
    public static Tensor maxPool2d(Tensor input, Pool2dSpec spec) { return maxPool2dWithIndices(input, spec).values(); }

    /**
     * Max pooling that also returns, like PyTorch's {@code return_indices=True}, where each maximum came from:
     * int64 flat indices {@code h * W + w} into each input plane. Ties go to the first element of the window.
     *
     * @param input (N, C, H, W)
     * @param spec the geometry per axis
     * @return the maxima and their positions
     */
    public static Tensor.ValuesIndices maxPool2dWithIndices(Tensor input, Pool2dSpec spec) { return Pooling.maxPool2d(input, spec); }

    /**
     * Average pooling counting the padding, with stride equal to the kernel.
     *
     * @param input (N, C, H, W)
     * @param kernel the window's side
     * @return the result
     */
    public static Tensor avgPool2d(Tensor input, int kernel) { return avgPool2d(input, kernel, kernel, 0); }

    /**
     * Average pooling with a square window, counting the padding.
     *
     * @param input (N, C, H, W)
     * @param kernel the window's side
     * @param stride the step
     * @param padding the zero padding on each side
     * @return the result
     */
    public static Tensor avgPool2d(Tensor input, int kernel, int stride, int padding) {
        return Pooling.avgPool2d(input, Pool2dSpec.of(kernel, stride, padding), true);
    }

    /**
     * Average pooling; {@code countIncludePad} chooses whether padded zeros count in each window's divisor.
     *
     * @param input (N, C, H, W)
     * @param spec the geometry per axis
     * @param countIncludePad whether padded zeros count in the divisor
     * @return the result
     */
    public static Tensor avgPool2d(Tensor input, Pool2dSpec spec, boolean countIncludePad) { return Pooling.avgPool2d(input, spec, countIncludePad); }

    /**
     * Average pooling dividing every window's sum by {@code divisorOverride} (PyTorch's divisor_override).
     *
     * @param input (N, C, H, W)
     * @param spec the geometry per axis
     * @param countIncludePad whether padded zeros count in the divisor (when there is no override)
     * @param divisorOverride the divisor of every window, or 0 for none
     * @return the result
     */
    public static Tensor avgPool2d(Tensor input, Pool2dSpec spec, boolean countIncludePad, int divisorOverride) {
        return Pooling.avgPool2d(input, spec, countIncludePad, divisorOverride);
    }

    /**
    /**
     * Average pooling to a fixed output size, with PyTorch's window bounds floor(i*H/oh) to ceil((i+1)*H/oh).
     *
     * @param input (N, C, H, W)
     * @param outH the output height
     * @param outW the output width
     * @return (N, C, outH, outW)
     */
    public static Tensor adaptiveAvgPool2d(Tensor input, int outH, int outW) { return Pooling.adaptiveAvgPool2d(input, outH, outW); }

    /**
     * Mean over the two spatial dimensions, kept as size 1: (N, C, H, W) to (N, C, 1, 1).
     *
     * @param input (N, C, H, W)
     * @return (N, C, 1, 1)
     */
    public static Tensor globalAvgPool2d(Tensor input) { return Pooling.globalAvgPool2d(input); }

    // ---- normalisation and dropout -------------------------------------------------------------------------

    /**
     * Batch normalisation over (N, C, ...) with PyTorch's semantics: in training the batch statistics normalise
     * and the running statistics (if given) are updated in place with {@code momentum}, the variance unbiased;
     * in evaluation the running statistics normalise.
     *
     * @param input (N, C, ...)
     * @param runningMean the running means (C), or null
     * @param runningVar the running variances (C), or null
     * @param weight the scale (C), or null
     * @param bias the shift (C), or null
     * @param training whether in training mode
     * @param momentum the weight of this batch in the running statistics
     * @param eps added to the variance
     * @return the result
     */
    public static Tensor batchNorm(Tensor input, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                                   boolean training, double momentum, double eps) {
        return Normalization.batchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps, true);
    }

    /**
     * {@link #batchNorm} with the running variance's estimator chosen: the unbiased batch variance (PyTorch) or,
     * with {@code unbiasedRunningVar} false, the biased one that also normalises (ONNX BatchNormalization).
     *
     * @param input (N, C, ...)
     * @param runningMean the running means (C), or null
     * @param runningVar the running variances (C), or null
     * @param weight the scale (C), or null
     * @param bias the shift (C), or null
     * @param training whether in training mode
     * @param momentum the weight of this batch in the running statistics
     * @param eps added to the variance
     * @param unbiasedRunningVar whether the running variance is updated with the unbiased batch variance
     * @return the result
     */
    public static Tensor batchNorm(Tensor input, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                                   boolean training, double momentum, double eps, boolean unbiasedRunningVar) {
        return Normalization.batchNorm(input, runningMean, runningVar, weight, bias, training, momentum, eps, unbiasedRunningVar);
    }

    /**
     * Layer normalisation over the trailing {@code normalizedShape} dimensions.
     *
     * @param input the input
     * @param normalizedShape the sizes of the trailing dimensions normalised over
     * @param weight the scale, or null
     * @param bias the bias, or null
     * @param eps added to the variance
     * @return the result
     */
    public static Tensor layerNorm(Tensor input, int[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        return Normalization.layerNorm(input, normalizedShape, weight, bias, eps);
    }

    /**
     * A normalisation's output with the statistics it used; mean and invStd keep the reduced dimensions as 1.
     *
     * @param output the normalised tensor
     * @param mean the means
     * @param invStd the inverse standard deviations
     */
    public record NormalizedWithStatistics(Tensor output, Tensor mean, Tensor invStd) {}

    /**
     * {@link #layerNorm}, also returning the mean and 1 / sqrt(var + eps) of each normalised slice (differentiable).
     *
     * @param input the input
     * @param normalizedShape the sizes of the trailing dimensions normalised over
     * @param weight the scale, or null
     * @param bias the bias, or null
     * @param eps added to the variance
     * @return the output and the statistics
     */
    public static NormalizedWithStatistics layerNormWithStatistics(Tensor input, int[] normalizedShape, Tensor weight, Tensor bias, double eps) {
        return Normalization.layerNormWithStatistics(input, normalizedShape, weight, bias, eps);
    }

    /**
     * Inverted dropout: in training, zeroes elements with probability p and scales the rest by 1/(1-p).
     *
     * @param input the input
     * @param p the probability of zeroing, in [0, 1]
     * @param training whether to drop (else the input is returned)
     * @return the result
     */
    public static Tensor dropout(Tensor input, double p, boolean training) { return Normalization.dropout(input, p, training); }

    /**
     * {@link #dropout(Tensor, double, boolean)} with masks from {@code generator}.
     *
     * @param input the input
     * @param p the probability of zeroing, in [0, 1]
     * @param training whether to drop (else the input is returned)
     * @param generator the generator the masks come from, or null for the default generator
     * @return the result
     */

    public static Tensor dropout(Tensor input, double p, boolean training, dev.kiln.random.Generator generator) {
        return Normalization.dropout(input, p, training, generator);
    }

    // ---- losses --------------------------------------------------------------------------------------------

    /** PyTorch's default {@code ignore_index}: targets equal to it contribute nothing. */
    public static final int IGNORE_INDEX = Losses.DEFAULT_IGNORE_INDEX;

    /**
     * Mean cross entropy of logits (N, C, ...) against class indices or class probabilities.
     *
     * @param input logits (N, C, ...)
     * @param target class indices (N, ...) or probabilities of the input's shape
     * @return the mean loss, a scalar
     */
    public static Tensor crossEntropy(Tensor input, Tensor target) {
        return crossEntropy(input, target, null, IGNORE_INDEX, Reduction.MEAN, 0);
    }

    /**
     * Cross entropy of logits against class indices (an int64/int32 target of shape (N, d1, ...)) or class
     * probabilities (a floating target of the input's shape). With class weights, MEAN divides by the summed
     * weights of the non-ignored targets (indices) or by the number of samples (probabilities).
     *
     * @param input logits (N, C, ...)
     * @param target class indices (N, ...) or probabilities of the input's shape
     * @param weight a weight per class, or null
     * @param ignoreIndex a target class that contributes nothing
     * @param reduction how the per-element losses are combined
     * @param labelSmoothing the share of the target mass spread over all classes
     * @return the loss, a scalar unless the reduction is none
     */
    public static Tensor crossEntropy(Tensor input, Tensor target, Tensor weight, int ignoreIndex, Reduction reduction, double labelSmoothing) {
        return Losses.crossEntropy(input, target, weight, ignoreIndex, reduction, labelSmoothing);
    }

    /**
     * Negative log-likelihood of log-probabilities (N, C, ...) at integer class targets, mean-reduced.
     *
     * @param input log-probabilities (N, C, ...)
     * @param target class indices (N, ...)
     * @return the mean loss, a scalar
     */
    public static Tensor nllLoss(Tensor input, Tensor target) { return nllLoss(input, target, null, IGNORE_INDEX, Reduction.MEAN); }

    /**
     * Negative log-likelihood with class weights, an ignored class and a reduction.
     *
     * @param input log-probabilities (N, C, ...)
     * @param target class indices (N, ...)
     * @param weight a weight per class, or null
     * @param ignoreIndex a target class that contributes nothing
     * @param reduction how the per-element losses are combined
     * @return the loss, a scalar unless the reduction is none
     */
    public static Tensor nllLoss(Tensor input, Tensor target, Tensor weight, int ignoreIndex, Reduction reduction) {
        return Losses.nllLoss(input, target, weight, ignoreIndex, reduction);
    }

    /**
     * Mean squared error.
     *
     * @param input the input
     * @param target of the input's shape
     * @return the mean loss, a scalar
     */
    public static Tensor mseLoss(Tensor input, Tensor target) { return Losses.mseLoss(input, target, Reduction.MEAN); }

    /**
     * Squared error.
     *
     * @param input the input
     * @param target of the input's shape
     * @param reduction how the per-element losses are combined
     * @return the loss, a scalar unless the reduction is none
     */
    public static Tensor mseLoss(Tensor input, Tensor target, Reduction reduction) { return Losses.mseLoss(input, target, reduction); }

    /**
     * Mean absolute error.
     *
     * @param input the input
     * @param target of the input's shape
     * @return the mean loss, a scalar
     */
    public static Tensor l1Loss(Tensor input, Tensor target) { return Losses.l1Loss(input, target, Reduction.MEAN); }

    /**
     * Absolute error.
     *
     * @param input the input
     * @param target of the input's shape
     * @param reduction how the per-element losses are combined
     * @return the loss, a scalar unless the reduction is none
     */
    public static Tensor l1Loss(Tensor input, Tensor target, Reduction reduction) { return Losses.l1Loss(input, target, reduction); }

    /**
     * Binary cross entropy of probabilities in [0, 1]; weight broadcasts over the input.
     *
     * @param input probabilities
     * @param target of the input's shape
     * @return the mean loss, a scalar
     */
    public static Tensor binaryCrossEntropy(Tensor input, Tensor target) { return Losses.binaryCrossEntropy(input, target, null, Reduction.MEAN); }

    /**
     * Binary cross entropy of probabilities, weighted.
     *
     * @param input probabilities
     * @param target of the input's shape
     * @param weight broadcast over the input, or null
     * @param reduction how the per-element losses are combined
     * @return the loss, a scalar unless the reduction is none
     */
    public static Tensor binaryCrossEntropy(Tensor input, Tensor target, Tensor weight, Reduction reduction) {
        return Losses.binaryCrossEntropy(input, target, weight, reduction);
    }

    /**
     * Mean binary cross entropy of logits.
     *
     * @param input logits
     * @param target of the input's shape
     * @return the mean loss, a scalar
     */
    public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target) {
        return Losses.binaryCrossEntropyWithLogits(input, target, null, null, Reduction.MEAN);
    }

    /**
     * Binary cross entropy on logits; {@code posWeight} weighs the positive term per class (last dimension).
     *
     * @param input logits
     * @param target of the input's shape
     * @param weight broadcast over the input, or null
     * @param posWeight a weight on the positive term per class, or null
     * @param reduction how the per-element losses are combined
     * @return the loss, a scalar unless the reduction is none
     */
    public static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor weight, Tensor posWeight, Reduction reduction) {
        return Losses.binaryCrossEntropyWithLogits(input, target, weight, posWeight, reduction);
    }

    /**
     * {@code x} where target is 1, {@code max(0, margin - x)} where it is -1.
     *
     * @param input the input
     * @param target 1 or -1, of the input's shape
     * @param margin the margin
     * @param reduction how the per-element losses are combined
     * @return the loss, a scalar unless the reduction is none
     */
    public static Tensor hingeEmbeddingLoss(Tensor input, Tensor target, double margin, Reduction reduction) {
        return Losses.hingeEmbeddingLoss(input, target, margin, reduction);
    }

    /**
     * {@code max(0, -target * (x1 - x2) + margin)} with target in {1, -1}.
     *
     * @param x1 the first scores
     * @param x2 the second scores
     * @param target 1 where x1 should rank higher, -1 where x2 should
     * @param margin the margin
     * @param reduction how the per-element losses are combined
     * @return the loss, a scalar unless the reduction is none
     */
    public static Tensor marginRankingLoss(Tensor x1, Tensor x2, Tensor target, double margin, Reduction reduction) {
        return Losses.marginRankingLoss(x1, x2, target, margin, reduction);
    }

    /**
     * 1-D convolution with PyTorch's {@code conv1d} arguments.
     *
     * @param input (N, Cin, L), or (Cin, L) unbatched
     * @param weight (Cout, Cin/groups, K)
     * @param bias the bias (Cout), or null
     * @param stride the step
     * @param padding the zeros added at each end
     * @param dilation the spacing between kernel taps
     * @param groups the channel groups
     * @return (N, Cout, OL), or (Cout, OL) unbatched
     * @throws IllegalArgumentException if the shapes do not fit each other or the geometry
     */
    public static Tensor conv1d(Tensor input, Tensor weight, Tensor bias, int stride, int padding, int dilation, int groups) {
        return Convolution1d.conv1d(input, weight, bias, stride, padding, dilation, groups);
    }

    /**
     * Group normalisation (Wu and He): each sample's channels in {@code numGroups} groups, each group normalised by
     * its mean and biased variance, then scaled and shifted per channel.
     *
     * @param input (N, C, ...)
     * @param numGroups the groups, dividing C
     * @param weight the scale (C), or null
     * @param bias the shift (C), or null
     * @param eps added to the variance
     * @return the input's shape
     * @throws IllegalArgumentException if C is not divisible by numGroups or a per-channel tensor is not of size C
     */
    public static Tensor groupNorm(Tensor input, int numGroups, Tensor weight, Tensor bias, double eps) {
        return GroupNormalization.groupNorm(input, numGroups, weight, bias, eps);
    }

    /**
     * Instance normalisation with PyTorch's {@code instance_norm} arguments: each (sample, channel) normalised by
     * its own statistics when {@code useInputStats} (the running statistics, when given, then move toward their
     * batch mean, variance unbiased), else by the running statistics.
     *
     * @param input (N, C, ...) with at least one spatial dimension
     * @param runningMean the running mean (C), updated in place, or null
     * @param runningVar the running variance (C), updated in place, or null
     * @param weight the scale (C), or null
     * @param bias the shift (C), or null
     * @param useInputStats whether to normalise by the input's statistics
     * @param momentum the running statistics' update weight
     * @param eps added to the variance
     * @return the input's shape
     * @throws IllegalArgumentException if a per-channel tensor is not of size C, or the running statistics are
     *     needed and missing
     */
    public static Tensor instanceNorm(Tensor input, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                                      boolean useInputStats, double momentum, double eps) {
        return GroupNormalization.instanceNorm(input, runningMean, runningVar, weight, bias, useInputStats, momentum, eps);
    }

    /**
     * Resizes the spatial dimensions to {@code size}, PyTorch's {@code interpolate(input, size=..., mode=...)}.
     *
     * @param input (N, C, L) or (N, C, H, W)
     * @param size the output size of each spatial dimension
     * @param mode {@code "nearest"}, {@code "linear"} (3-D input) or {@code "bilinear"} (4-D input)
     * @param alignCorners for the linear modes: whether the corner samples of input and output coincide
     * @return (N, C, size...)
     * @throws IllegalArgumentException for another mode, a mode that does not fit the rank, or align_corners with "nearest"
     */
    public static Tensor interpolate(Tensor input, int[] size, String mode, boolean alignCorners) {
        return Resampling.interpolate(input, size, mode, alignCorners);
    }

    /**
     * Resizes every spatial dimension by {@code scaleFactor} (output {@code floor(size * scaleFactor)}), PyTorch's
     * {@code interpolate(input, scale_factor=..., mode=...)}.
     *
     * @param input (N, C, L) or (N, C, H, W)
     * @param scaleFactor the factor, positive
     * @param mode {@code "nearest"}, {@code "linear"} (3-D input) or {@code "bilinear"} (4-D input)
     * @param alignCorners for the linear modes: whether the corner samples of input and output coincide
     * @return the resized tensor
     * @throws IllegalArgumentException for another mode, a mode that does not fit the rank, or align_corners with "nearest"
     */
    public static Tensor interpolate(Tensor input, double scaleFactor, String mode, boolean alignCorners) {
        return Resampling.interpolate(input, scaleFactor, mode, alignCorners);
    }

    /**
     * Rows of {@code weight} with PyTorch's {@code embedding} options.
     *
     * @param indices integer indices, any shape
     * @param weight the table (num_embeddings, dim)
     * @param paddingIdx the row that receives no gradient (negative: from the end), or null
     * @param maxNorm when not null, the looked-up rows whose norm exceeds it are renormalised to it, in place
     * @param normType the p of that norm (PyTorch's default is 2)
     * @return indices.shape + [dim]
     * @throws IllegalArgumentException if paddingIdx is outside the table or maxNorm is not positive
     */
    public static Tensor embedding(Tensor indices, Tensor weight, Integer paddingIdx, Double maxNorm, double normType) {
        return Indexing.embedding(indices, weight, paddingIdx, maxNorm, normType);
    }

    /**
     * {@code input / max(||input||_p, eps)} along {@code dim}, PyTorch's {@code normalize}.
     *
     * @param input a floating tensor
     * @param p the norm's order (2 for unit vectors)
     * @param dim the dimension of the vectors
     * @param eps the smallest norm divided by (PyTorch's default is 1e-12)
     * @return the input's shape
     */
    public static Tensor normalize(Tensor input, double p, int dim, double eps) { return Similarity.normalize(input, p, dim, eps); }

    /**
     * Cosine similarity along {@code dim} of two broadcastable tensors,
     * {@code x1 . x2 / (max(||x1||, eps) * max(||x2||, eps))}.
     *
     * @param x1 the first vectors
     * @param x2 the second vectors
     * @param dim the dimension of the vectors
     * @param eps the smallest norm divided by (PyTorch's default is 1e-8)
     * @return the broadcast shape without {@code dim}
     */
    public static Tensor cosineSimilarity(Tensor x1, Tensor x2, int dim, double eps) { return Similarity.cosineSimilarity(x1, x2, dim, eps); }
}
