package dev.kiln;

import dev.kiln.backend.Backend;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.Pool2dSpec;
import java.lang.ref.Reference;

/**
 * Pooling over the last two dimensions of (N, C, H, W) or (C, H, W) tensors, with gradients:
 * <ul>
 *   <li>max pooling is the backend's fused {@link Backend#maxPool2d} (values and PyTorch's flat
 *       {@code h * W + w} indices); its gradient is a scatter-add into the winners;</li>
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
        Backend be = x.backend();
        Tensor values = Tensor.allocate(be, x.dtype(), n, c, oh, ow);
        Tensor indices = Tensor.allocate(be, DType.INT64, n, c, oh, ow);
        if (values.numel() > 0) be.maxPool2d(x.view, spec, values.view, indices.view);
        Reference.reachabilityFence(new Object[] {x, values, indices});
        values = Autograd.record("max_pool2d", values, x, g -> {
            Tensor gx = Tensor.zeros(g.dtype(), g.device(), n, c, h * w);
            if (g.numel() > 0) {
                try (Tensor flatGrad = g.reshape(n, c, oh * ow); Tensor flatIndex = indices.reshape(n, c, oh * ow)) {
                    be.scatterAdd(gx.view, 2, flatIndex.view, flatGrad.view);
                    Reference.reachabilityFence(new Object[] {gx, flatIndex, flatGrad});
                }
            }
            try (gx) {
                return new Tensor[] {gx.reshape(n, c, h, w)};
            }
        }, indices);
        return new Tensor.ValuesIndices(values, Autograd.nonDifferentiable(indices));
    }

    static Tensor avgPool2d(Tensor x, Pool2dSpec spec, boolean countIncludePad) {
        if (x.dim() == 3) return Convolution.unbatched(x, b -> avgPool2d(b, spec, countIncludePad));
        int[] s = checkInput("avg_pool2d", x, spec);
        int c = s[1], h = s[2], w = s[3];
        int oh = spec.outH(h), ow = spec.outW(w);
        try (Scope scope = Scope.open()) {
            Tensor padded = Padding.pad2d(x, spec.padW(), spec.padRight(w), spec.padH(), spec.padBelow(h), 0);
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
