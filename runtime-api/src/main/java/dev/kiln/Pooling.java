package dev.kiln;

import dev.kiln.autograd.GradMode;
import dev.kiln.backend.Conv2dSpec;

/**
 * Pooling over the last two dimensions of (N, C, H, W) or (C, H, W) tensors, composed from differentiable ops
 * so every backend has it, with its gradient, as soon as it has the primitives:
 * <ul>
 *   <li>max pooling finds each window's winner with one arg-max over a strided window view, turns it into
 *       PyTorch's flat {@code h * W + w} index, and gathers the values there: the gradient is gather's
 *       (a scatter-add into the winners);</li>
 *   <li>average pooling is a depthwise convolution with a kernel of ones, divided by the per-window count,
 *       which factors into a row part and a column part;</li>
 *   <li>adaptive average pooling is {@code A_h @ x @ A_w^T} with averaging matrices, since its windows are
 *       products of a row range and a column range.</li>
 * </ul>
 */
final class Pooling {
    private Pooling() {}

    static Tensor.ValuesIndices maxPool2d(Tensor x, Pool2dSpec spec) {
        if (x.dim() == 3) {
            try (Tensor batch = x.unsqueeze(0)) {
                Tensor.ValuesIndices r = maxPool2d(batch, spec);
                try (Tensor v = r.values(); Tensor i = r.indices()) {
                    return new Tensor.ValuesIndices(v.squeeze(0), i.squeeze(0));
                }
            }
        }
        int[] s = checkInput("max_pool2d", x, spec);
        int n = s[0], c = s[1], h = s[2], w = s[3];
        int oh = spec.outH(h), ow = spec.outW(w);
        Tensor indices;
        try (GradMode ignored = GradMode.noGrad(); Scope scope = Scope.open()) {
            Tensor padded = Padding.pad2d(x.detach(), spec.padW(), bottomPad(w, ow, spec.kernelW(), spec.strideW(), spec.padW(), spec.dilationW()),
                    spec.padH(), bottomPad(h, oh, spec.kernelH(), spec.strideH(), spec.padH(), spec.dilationH()), Double.NEGATIVE_INFINITY);
            long[] st = padded.strides();
            Tensor windows = padded.share(new int[] {n, c, oh, ow, spec.kernelH(), spec.kernelW()},
                    new long[] {st[0], st[1], st[2] * spec.strideH(), st[3] * spec.strideW(), st[2] * spec.dilationH(), st[3] * spec.dilationW()},
                    padded.offset());
            Tensor tap = windows.reshape(n, c, oh, ow, spec.kernelH() * spec.kernelW()).argmax(4, false).to(DType.FLOAT64);
            Tensor tapRow = tap.div(spec.kernelW()).floor();
            Tensor tapCol = tap.sub(tapRow.mul(spec.kernelW()));
            // A window whose real elements are all -inf ties with its padding; clamping then lands on the window's
            // first real element, the index PyTorch reports.
            Tensor row = tapRow.mul(spec.dilationH()).add(windowStarts(oh, spec.strideH(), spec.padH(), x.device()).reshape(oh, 1)).clamp(0, h - 1);
            Tensor col = tapCol.mul(spec.dilationW()).add(windowStarts(ow, spec.strideW(), spec.padW(), x.device())).clamp(0, w - 1);
            indices = scope.keep(row.mul(w).add(col).to(DType.INT64));
        }
        try (Tensor flat = x.reshape(n, c, h * w); Tensor flatIndex = indices.reshape(n, c, oh * ow); Tensor picked = flat.gather(2, flatIndex)) {
            return new Tensor.ValuesIndices(picked.reshape(n, c, oh, ow), indices);
        }
    }

    static Tensor avgPool2d(Tensor x, Pool2dSpec spec, boolean countIncludePad) {
        if (x.dim() == 3) return Convolution.unbatched(x, b -> avgPool2d(b, spec, countIncludePad));
        int[] s = checkInput("avg_pool2d", x, spec);
        int c = s[1], h = s[2], w = s[3];
        int oh = spec.outH(h), ow = spec.outW(w);
        try (Scope scope = Scope.open()) {
            Tensor padded = Padding.pad2d(x, spec.padW(), bottomPad(w, ow, spec.kernelW(), spec.strideW(), spec.padW(), spec.dilationW()),
                    spec.padH(), bottomPad(h, oh, spec.kernelH(), spec.strideH(), spec.padH(), spec.dilationH()), 0);
            Tensor ones = Tensor.ones(x.dtype(), x.device(), c, 1, spec.kernelH(), spec.kernelW());
            Tensor sums = Convolution.conv2d(padded, ones, null, new Conv2dSpec(spec.strideH(), spec.strideW(), 0, 0, spec.dilationH(), spec.dilationW(), c));
            double[] rows = windowCounts(h, oh, spec.kernelH(), spec.strideH(), spec.padH(), spec.dilationH(), countIncludePad);
            double[] cols = windowCounts(w, ow, spec.kernelW(), spec.strideW(), spec.padW(), spec.dilationW(), countIncludePad);
            double[] inverse = new double[oh * ow];
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) inverse[i * ow + j] = 1 / (rows[i] * cols[j]);
            return scope.keep(sums.mul(Tensor.of(inverse, x.dtype(), x.device(), oh, ow)));
        }
    }

    static Tensor adaptiveAvgPool2d(Tensor x, int outH, int outW) {
        x.checkOpen("adaptive_avg_pool2d");
        if ((x.dim() != 3 && x.dim() != 4) || !x.dtype().isFloatingPoint() || outH < 1 || outW < 1)
            throw new IllegalArgumentException("adaptive_avg_pool2d: expected a floating 3-D or 4-D input and a positive output size, got "
                    + Elementwise.describe(x) + " to " + outH + "x" + outW);
        int h = x.size(-2), w = x.size(-1);
        if (h == 0 || w == 0)
            throw new IllegalArgumentException("adaptive_avg_pool2d: input " + Elementwise.describe(x) + " has an empty spatial dimension");
        try (Scope scope = Scope.open()) {
            Tensor rows = averagingMatrix(h, outH, x);
            Tensor cols = averagingMatrix(w, outW, x);
            return scope.keep(rows.matmul(x).matmul(cols.t()));
        }
    }

    /** The mean over the last two dimensions, kept as size 1: adaptive average pooling to 1x1. */
    static Tensor globalAvgPool2d(Tensor x) {
        x.checkOpen("global_avg_pool2d");
        if ((x.dim() != 3 && x.dim() != 4) || !x.dtype().isFloatingPoint())
            throw new IllegalArgumentException("global_avg_pool2d: expected a floating 3-D or 4-D input, got " + Elementwise.describe(x));
        return x.mean(new int[] {-2, -1}, true);
    }

    /** Validates a pooling input and returns its (N, C, H, W) shape. */
    private static int[] checkInput(String op, Tensor x, Pool2dSpec spec) {
        x.checkOpen(op);
        if (x.dim() != 4 || !x.dtype().isFloatingPoint())
            throw new IllegalArgumentException(op + ": expected a floating 3-D (C, H, W) or 4-D (N, C, H, W) input, got " + Elementwise.describe(x));
        int[] s = x.shape();
        if (spec.outH(s[2]) < 1 || spec.outW(s[3]) < 1)
            throw new IllegalArgumentException(op + ": window " + spec.kernelH() + "x" + spec.kernelW() + " (dilation " + spec.dilationH() + "x"
                    + spec.dilationW() + ") does not fit input " + Shapes.str(s) + " padded by " + spec.padH() + "x" + spec.padW());
        return s;
    }

    /** Rows (or columns) of padding needed after the input so that the last window fits. */
    private static int bottomPad(int in, int out, int k, int stride, int pad, int dilation) {
        return Math.max(0, (out - 1) * stride + dilation * (k - 1) + 1 - in - pad);
    }

    /** Input coordinate of each window's first tap, {@code i * stride - pad}, as float64. */
    private static Tensor windowStarts(int out, int stride, int pad, Device device) {
        return Tensor.arange(-pad, (double) out * stride - pad, stride, DType.FLOAT64, device);
    }

    /**
     * Per-axis divisor of average pooling: the window's taps inside the input, or with countIncludePad inside the
     * padded input (PyTorch's rule for windows that overhang the padding).
     */
    private static double[] windowCounts(int in, int out, int k, int stride, int pad, int dilation, boolean countIncludePad) {
        double[] counts = new double[out];
        for (int i = 0; i < out; i++) {
            int start = i * stride - pad;
            for (int t = 0; t < k; t++) {
                int at = start + t * dilation;
                if (countIncludePad ? at < in + pad : at >= 0 && at < in) counts[i]++;
            }
        }
        return counts;
    }

    /** (out, in) matrix averaging the adaptive window {@code [floor(i*in/out), ceil((i+1)*in/out))} into row i. */
    private static Tensor averagingMatrix(int in, int out, Tensor like) {
        double[] m = new double[out * in];
        for (int i = 0; i < out; i++) {
            int start = (int) ((long) i * in / out);
            int end = (int) (((long) (i + 1) * in + out - 1) / out);
            for (int j = start; j < end; j++) m[i * in + j] = 1.0 / (end - start);
        }
        return Tensor.of(m, like.dtype(), like.device(), out, in);
    }
}
