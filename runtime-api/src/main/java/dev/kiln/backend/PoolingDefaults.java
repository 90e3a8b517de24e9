package dev.kiln.backend;

import dev.kiln.DType;

import java.util.ArrayList;
import java.util.List;

/**
 * The default max-pooling kernel, written only with a backend's primitives: the input is copied into a border of
 * -inf, every window is gathered by one strided copy into a dense (N, C, OH, OW, KH*KW) block, and a max and an
 * arg-max along its last axis give the values and the winning taps. The taps become flat input indices with a
 * few elementwise ops in int64, from window starts that {@link Backend#arange} writes on the device.
 */
final class PoolingDefaults {
    private PoolingDefaults() {}

    static void maxPool2d(Backend be, View input, Pool2dSpec spec, View out, View indices) {
        int[] s = input.shape();
        int n = s[0], c = s[1], h = s[2], w = s[3], oh = out.shape()[2], ow = out.shape()[3];
        int kh = spec.kernelH(), kw = spec.kernelW();
        int hp = h + spec.padH() + spec.padBelow(h), wp = w + spec.padW() + spec.padRight(w);
        List<View> temps = new ArrayList<>();
        try {
            View padded = temp(be, temps, input.dtype(), n, c, hp, wp);
            be.fill(padded, Double.NEGATIVE_INFINITY);
            long[] ps = padded.strides();
            be.copy(input, padded.withShape(s, ps, spec.padH() * ps[2] + spec.padW() * ps[3]));

            int[] windowShape = {n, c, oh, ow, kh, kw};
            View windows = temp(be, temps, input.dtype(), n, c, oh, ow, kh * kw);
            be.copy(padded.withShape(windowShape, new long[] {ps[0], ps[1], ps[2] * spec.strideH(), ps[3] * spec.strideW(),
                    ps[2] * spec.dilationH(), ps[3] * spec.dilationW()}, 0), windows.withShape(windowShape, View.contiguousStrides(windowShape), 0));
            long[] os = out.strides();
            be.reduce(ReduceOp.MAX, windows, new int[] {4}, out.withShape(new int[] {n, c, oh, ow, 1}, new long[] {os[0], os[1], os[2], os[3], 1}, out.offset()));
            View tap = temp(be, temps, DType.INT64, n, c, oh, ow, 1);
            be.argReduce(ArgReduceOp.ARGMAX, windows, 4, tap);

            // tap = r * kw + q  ->  row = start_i + r * dilationH, col = start_j + q * dilationW, clamped into the
            // input: a window of -inf ties with its border, and clamping lands on its first in-bounds element.
            int[] outShape = {n, c, oh, ow};
            View t = tap.withShape(outShape, View.contiguousStrides(outShape), 0);
            View row = temp(be, temps, DType.INT64, outShape);
            View col = temp(be, temps, DType.INT64, outShape);
            be.binaryScalar(BinaryOp.DIV, t, kw, false, row);
            be.binaryScalar(BinaryOp.REMAINDER, t, kw, false, col);
            View starts = temp(be, temps, DType.INT64, oh + ow);
            be.arange(-spec.padH(), spec.strideH(), starts.withShape(new int[] {oh}, new long[] {1}, 0));
            be.arange(-spec.padW(), spec.strideW(), starts.withShape(new int[] {ow}, new long[] {1}, oh));
            placeAndClamp(be, row, spec.dilationH(), starts.withShape(outShape, new long[] {0, 0, 1, 0}, 0), h);
            placeAndClamp(be, col, spec.dilationW(), starts.withShape(outShape, new long[] {0, 0, 0, 1}, oh), w);
            be.binaryScalar(BinaryOp.MUL, row, w, false, row);
            be.binary(BinaryOp.ADD, row, col, indices);
        } finally {
            for (View v : temps) be.release(v.buffer());
        }
    }

    private static View temp(Backend be, List<View> temps, DType dtype, int... shape) {
        View v = be.allocateView(dtype, shape);
        temps.add(v);
        return v;
    }

    /** {@code coord = clamp(start + tap * dilation, 0, size - 1)} in place. */
    private static void placeAndClamp(Backend be, View coord, int dilation, View start, int size) {
        be.binaryScalar(BinaryOp.MUL, coord, dilation, false, coord);
        be.binary(BinaryOp.ADD, coord, start, coord);
        be.binaryScalar(BinaryOp.MAXIMUM, coord, 0, false, coord);
        be.binaryScalar(BinaryOp.MINIMUM, coord, size - 1, false, coord);
    }
}
