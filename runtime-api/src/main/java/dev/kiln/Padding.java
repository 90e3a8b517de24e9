package dev.kiln;

import java.lang.ref.Reference;

/** Constant padding of the last two dimensions, the border that convolution and pooling need. */
final class Padding {
    private Padding() {}

    /**
     * {@code x} with {@code top}/{@code bottom} rows and {@code left}/{@code right} columns of {@code value} added
     * around its last two dimensions. The gradient is the interior of the incoming one.
     */
    static Tensor pad2d(Tensor x, int left, int right, int top, int bottom, double value) {
        x.checkOpen("pad");
        if (x.dim() < 2 || left < 0 || right < 0 || top < 0 || bottom < 0)
            throw new IllegalArgumentException("pad: needs a tensor of rank >= 2 and non-negative padding, got " + Elementwise.describe(x)
                    + " with (left " + left + ", right " + right + ", top " + top + ", bottom " + bottom + ")");
        int r = x.dim();
        int[] shape = x.shape();
        int h = shape[r - 2], w = shape[r - 1];
        shape[r - 2] = h + top + bottom;
        shape[r - 1] = w + left + right;
        Tensor out = Tensor.allocate(x.backend(), x.dtype(), shape);
        if (out.numel() > 0) x.backend().fill(out.view, value);
        Reference.reachabilityFence(out);
        try (Tensor interior = out.share(x.shape(), out.view.strides(), interiorOffset(out, top, left))) {
            if (x.numel() > 0) x.backend().copy(x.view, interior.view);
            Reference.reachabilityFence(new Object[] {x, interior});
        }
        return Autograd.record("pad", out, x, g -> {
            try (Tensor rows = g.narrow(r - 2, top, h)) {
                return new Tensor[] {rows.narrow(r - 1, left, w)};
            }
        });
    }

    private static long interiorOffset(Tensor padded, int top, int left) {
        long[] s = padded.view.strides();
        return padded.view.offset() + top * s[s.length - 2] + left * s[s.length - 1];
    }
}
