package dev.kiln;

import dev.kiln.backend.Conv2dSpec;

/**
 * 1-D convolution over (N, C, L) sequences, composed on the 2-D convolution: the sequence is a (N, C, 1, L) image
 * and the kernel a (out, in / groups, 1, K) one, so every backend's convolution kernels and their gradients serve
 * it without a 1-D entry point in the SPI.
 */
final class Convolution1d {
    private Convolution1d() {}

    static Tensor conv1d(Tensor input, Tensor weight, Tensor bias, int stride, int padding, int dilation, int groups) {
        input.checkOpen("conv1d");
        weight.checkOpen("conv1d");
        if (input.dim() == 2) {
            try (Tensor batched = input.unsqueeze(0); Tensor out = conv1d(batched, weight, bias, stride, padding, dilation, groups)) {
                return out.squeeze(0);
            }
        }
        if (input.dim() != 3 || weight.dim() != 3)
            throw new IllegalArgumentException("conv1d: expected input (N, C, L) or (C, L) and weight (out, in / groups, K), got input "
                    + Elementwise.describe(input) + " and weight " + Elementwise.describe(weight));
        if (groups <= 0 || input.size(1) != weight.size(1) * groups || weight.size(0) % groups != 0)
            throw new IllegalArgumentException("conv1d: input " + Elementwise.describe(input) + " and weight " + Elementwise.describe(weight)
                    + " do not fit groups=" + groups + " (expected input channels = weight.size(1) * groups, and out channels divisible by groups)");
        int span = dilation * (weight.size(2) - 1) + 1;
        if (stride <= 0 || padding < 0 || dilation <= 0 || input.size(2) + 2 * padding < span)
            throw new IllegalArgumentException("conv1d: kernel " + weight.size(2) + " with dilation " + dilation + " does not fit input "
                    + Elementwise.describe(input) + " padded by " + padding + " (stride " + stride + ")");
        try (Tensor image = input.unsqueeze(2); Tensor kernel = weight.unsqueeze(2);
             Tensor out = Convolution.conv2d(image, kernel, bias, new Conv2dSpec(1, stride, 0, padding, 1, dilation, groups))) {
            return out.squeeze(2);
        }
    }
}
