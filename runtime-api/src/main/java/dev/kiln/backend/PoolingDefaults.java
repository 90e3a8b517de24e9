package dev.kiln.backend;

import dev.kiln.DType;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The default max-pooling kernel, written only with a backend's primitives: the input is copied into a border of
 * -inf, every window is gathered by one strided copy into a dense (N, C, OH, OW, KH*KW) block, and a max and an
 * arg-max along its last axis give the values and the winning taps. The taps become flat input indices with a
 * few elementwise ops in float64 (exact for any plane below 2^53 elements).
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
            View t = temp(be, temps, DType.FLOAT64, n, c, oh, ow);
            View row = temp(be, temps, DType.FLOAT64, n, c, oh, ow);
            View col = temp(be, temps, DType.FLOAT64, n, c, oh, ow);
            be.copy(tap.withShape(t.shape(), View.contiguousStrides(t.shape()), 0), t);
            be.binaryScalar(BinaryOp.DIV, t, kw, false, row);
            be.unary(UnaryOp.FLOOR, 0, row, row);
            be.binaryScalar(BinaryOp.MUL, row, kw, false, col);
            be.binary(BinaryOp.SUB, t, col, col);
            View starts = windowStarts(be, temps, oh, spec.strideH(), spec.padH(), ow, spec.strideW(), spec.padW());
            placeAndClamp(be, row, spec.dilationH(), starts.withShape(row.shape(), new long[] {0, 0, 1, 0}, 0), h);
            placeAndClamp(be, col, spec.dilationW(), starts.withShape(col.shape(), new long[] {0, 0, 0, 1}, oh), w);
            be.binaryScalar(BinaryOp.MUL, row, w, false, row);
            be.binary(BinaryOp.ADD, row, col, row);
            be.copy(row, indices);
        } finally {
            for (View v : temps) be.release(v.buffer());
        }
    }

    private static View temp(Backend be, List<View> temps, DType dtype, int... shape) {
        View v = be.allocateView(dtype, shape);
        temps.add(v);
        return v;
    }

    /** {@code i * stride - pad} for the oh rows, then the same for the ow columns, as one float64 vector. */
    private static View windowStarts(Backend be, List<View> temps, int oh, int strideH, int padH, int ow, int strideW, int padW) {
        double[] starts = new double[oh + ow];
        for (int i = 0; i < oh; i++) starts[i] = (double) i * strideH - padH;
        for (int j = 0; j < ow; j++) starts[oh + j] = (double) j * strideW - padW;
        View v = temp(be, temps, DType.FLOAT64, oh + ow);
        be.copyFromHost(MemorySegment.ofArray(starts), v.buffer(), 0);
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
