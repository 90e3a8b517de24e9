package dev.kiln;

import java.util.Arrays;

/**
 * {@code interpolate}: resizing the spatial dimensions of (N, C, ...) tensors by nearest-neighbour or linear
 * (bilinear on images) sampling, with PyTorch's source coordinates. Both modes are separable, so each spatial axis
 * is resampled in turn by index selection (nearest) or by a weighted sum of two index selections (linear): the
 * ops run on every backend, and the gradient is index selection's (an index add), exact and without a kernel of
 * its own.
 */
final class Resampling {
    private Resampling() {}

    /** To {@code size} (one entry per spatial dimension); source coordinates scale by input / output size. */
    static Tensor interpolate(Tensor input, int[] size, String mode, boolean alignCorners) {
        checkInput(input, size.length, mode, alignCorners);
        double[] scales = new double[size.length];
        for (int i = 0; i < size.length; i++) {
            if (size[i] <= 0) throw new IllegalArgumentException("interpolate: output sizes must be positive, got " + Arrays.toString(size));
            scales[i] = (double) input.size(2 + i) / size[i];
        }
        return resample(input, size, scales, mode, alignCorners);
    }

    /**
     * By {@code scaleFactor} on every spatial dimension: output size {@code floor(input * scaleFactor)}, source
     * coordinates scaled by {@code 1 / scaleFactor} (PyTorch's default, {@code recompute_scale_factor=None}).
     */
    static Tensor interpolate(Tensor input, double scaleFactor, String mode, boolean alignCorners) {
        int spatial = input.dim() - 2;
        checkInput(input, spatial, mode, alignCorners);
        if (!(scaleFactor > 0) || Double.isInfinite(scaleFactor))
            throw new IllegalArgumentException("interpolate: scale factor must be positive and finite, got " + scaleFactor);
        int[] size = new int[spatial];
        double[] scales = new double[spatial];
        for (int i = 0; i < spatial; i++) {
            size[i] = (int) Math.floor(input.size(2 + i) * scaleFactor);
            if (size[i] <= 0)
                throw new IllegalArgumentException("interpolate: scale factor " + scaleFactor + " leaves no output for input " + Elementwise.describe(input));
            scales[i] = 1 / scaleFactor;
        }
        return resample(input, size, scales, mode, alignCorners);
    }

    private static void checkInput(Tensor input, int spatialDims, String mode, boolean alignCorners) {
        input.checkOpen("interpolate");
        int spatial = input.dim() - 2;
        if (spatial < 1 || spatial > 2 || spatialDims != spatial)
            throw new IllegalArgumentException("interpolate: expected (N, C, L) or (N, C, H, W) input with one output size per spatial dimension, got input "
                    + Elementwise.describe(input) + " and " + spatialDims + " sizes");
        switch (mode) {
            case "nearest" -> {
                if (alignCorners)
                    throw new IllegalArgumentException("interpolate: align_corners applies to the linear modes only, not to \"nearest\"");
            }
            case "linear", "bilinear" -> {
                if (spatial != (mode.equals("linear") ? 1 : 2))
                    throw new IllegalArgumentException("interpolate: mode \"" + mode + "\" needs " + (mode.equals("linear") ? "(N, C, L)" : "(N, C, H, W)")
                            + " input, got " + Elementwise.describe(input));
                if (!input.dtype().isFloatingPoint())
                    throw new IllegalArgumentException("interpolate: mode \"" + mode + "\" needs a floating input, got " + Elementwise.describe(input));
            }
            default -> throw new IllegalArgumentException("interpolate: mode must be \"nearest\", \"linear\" or \"bilinear\", got \"" + mode + "\"");
        }
    }

    private static Tensor resample(Tensor input, int[] size, double[] scales, String mode, boolean alignCorners) {
        boolean linear = !mode.equals("nearest");
        try (Scope scope = Scope.open()) {
            Tensor x = input;
            for (int i = 0; i < size.length; i++)
                x = linear ? linearAxis(x, 2 + i, size[i], scales[i], alignCorners) : nearestAxis(x, 2 + i, size[i], scales[i]);
            return scope.keep(x);
        }
    }

    /** PyTorch's legacy "nearest": output i reads input {@code min(floor(i * scale), in - 1)}. */
    private static Tensor nearestAxis(Tensor x, int axis, int out, double scale) {
        int in = x.size(axis);
        double[] source = new double[out];
        for (int i = 0; i < out; i++) source[i] = Math.min(Math.floor(i * scale), in - 1);
        return x.indexSelect(axis, indices(source, x));
    }

    /**
     * Linear sampling along one axis. Output i reads source coordinate {@code i * (in - 1) / (out - 1)} with
     * aligned corners, else {@code (i + 0.5) * scale - 0.5} clamped at 0; the two neighbours are weighted by
     * the coordinate's fraction.
     */
    private static Tensor linearAxis(Tensor x, int axis, int out, double scale, boolean alignCorners) {
        int in = x.size(axis);
        double[] low = new double[out], high = new double[out], fraction = new double[out];
        for (int i = 0; i < out; i++) {
            double source = alignCorners ? (out > 1 ? (double) i * (in - 1) / (out - 1) : 0) : Math.max((i + 0.5) * scale - 0.5, 0);
            low[i] = Math.min(Math.floor(source), in - 1);
            high[i] = Math.min(low[i] + 1, in - 1);
            fraction[i] = source - low[i];
        }
        int[] weightShape = new int[x.dim()];
        Arrays.fill(weightShape, 1);
        weightShape[axis] = out;
        Tensor lo = x.indexSelect(axis, indices(low, x)), hi = x.indexSelect(axis, indices(high, x));
        Tensor w = Tensor.of(fraction, x.dtype(), x.device(), weightShape);
        return lo.add(hi.sub(lo).mul(w));
    }

    private static Tensor indices(double[] values, Tensor x) { return Tensor.of(values, DType.INT64, x.device(), values.length); }
}
