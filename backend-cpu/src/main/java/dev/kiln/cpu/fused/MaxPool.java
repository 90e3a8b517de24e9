package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.Pool2dSpec;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.WorkerPool;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.IntConsumer;

/**
 * Max pooling with indices as a direct loop over each window's in-bounds taps, for float32 and float64 views of
 * any strides, split over the (n, c) planes. The padding never wins, so it is never read: a window reports its
 * first in-bounds maximum (a NaN wins at once), so a window of -inf reports its first in-bounds tap, as PyTorch
 * does (the composed default reports the window's start clamped into the input, the same tap unless dilated).
 * A window with no tap inside the input reports -inf at that clamped start.
 */
public final class MaxPool {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;
    /** Windows' taps below which one thread does all planes. */
    private static final long PARALLEL_TAPS = 1L << 16;

    private MaxPool() {}

    public static boolean handles(View input) {
        return input.dtype() == DType.FLOAT32 || input.dtype() == DType.FLOAT64;
    }

    public static void forward(View input, MemorySegment x, Pool2dSpec spec, View out, MemorySegment y, View indices,
                               MemorySegment idx) {
        int[] s = input.shape();
        int channels = s[1], oh = out.shape()[2], ow = out.shape()[3];
        int planes = s[0] * channels;
        long taps = (long) planes * oh * ow * spec.kernelH() * spec.kernelW();
        boolean f32 = input.dtype() == DType.FLOAT32;
        Taps rows = Taps.of(oh, spec.strideH(), spec.padH(), spec.dilationH(), spec.kernelH(), s[2]);
        Taps cols = Taps.of(ow, spec.strideW(), spec.padW(), spec.dilationW(), spec.kernelW(), s[3]);
        IntConsumer plane = pl -> {
            int n = pl / channels, c = pl % channels;
            pool(x, input.offset() + n * input.strides()[0] + c * input.strides()[1], input.strides(), s[3], rows, cols,
                    y, out.offset() + n * out.strides()[0] + c * out.strides()[1], out.strides(),
                    idx, indices.offset() + n * indices.strides()[0] + c * indices.strides()[1], indices.strides(), f32);
        };
        if (taps >= PARALLEL_TAPS) {
            WorkerPool.shared().run(planes, plane);
        } else {
            for (int pl = 0; pl < planes; pl++) plane.accept(pl);
        }
    }

    /**
     * Along one axis, for each output position: the window's first coordinate, and the range [from, to) of its
     * taps inside the input. The same for every plane, so worked out once.
     */
    private record Taps(int[] start, int[] from, int[] to, int dilation, int size) {
        static Taps of(int out, int stride, int pad, int dilation, int kernel, int size) {
            int[] start = new int[out], from = new int[out], to = new int[out];
            for (int o = 0; o < out; o++) {
                start[o] = o * stride - pad;
                from[o] = Math.max(0, Math.ceilDiv(-start[o], dilation));
                to[o] = Math.min(kernel, Math.floorDiv(size - 1 - start[o], dilation) + 1);
            }
            return new Taps(start, from, to, dilation, size);
        }

        /** The coordinate of tap t of window o. */
        int at(int o, int t) { return start[o] + t * dilation; }

        /** Where a window without taps inside reports: its start clamped into the input. */
        int clamped(int o) { return Math.clamp(start[o], 0, size - 1); }
    }

    private static void pool(MemorySegment x, long xBase, long[] xs, int w, Taps rows, Taps cols,
                             MemorySegment y, long yBase, long[] ys, MemorySegment idx, long iBase, long[] is, boolean f32) {
        for (int oy = 0; oy < rows.start.length; oy++) {
            int r0 = rows.from[oy], r1 = rows.to[oy];
            for (int ox = 0; ox < cols.start.length; ox++) {
                int q0 = cols.from[ox], q1 = cols.to[ox];
                double best = Double.NEGATIVE_INFINITY;
                long at = (long) rows.clamped(oy) * w + cols.clamped(ox);
                if (r0 < r1 && q0 < q1) {
                    int iy0 = rows.at(oy, r0), ix0 = cols.at(ox, q0);
                    long winner = xBase + iy0 * xs[2] + ix0 * xs[3];
                    best = load(x, winner, f32);
                    at = (long) iy0 * w + ix0;
                    for (int r = r0; r < r1; r++) {
                        int iy = rows.at(oy, r);
                        long row = xBase + iy * xs[2];
                        for (int q = q0; q < q1; q++) {
                            int ix = cols.at(ox, q);
                            long src = row + ix * xs[3];
                            double v = load(x, src, f32);
                            // Written without branches on the data: an unpredictable compare costs more than the
                            // selects. Once best is NaN nothing replaces it, so the first NaN wins.
                            boolean better = (v > best || v != v) && best == best;
                            best = better ? v : best;
                            at = better ? (long) iy * w + ix : at;
                            winner = better ? src : winner;
                        }
                    }
                    // The value is the element the index names, whatever the compiler makes of the selects on
                    // best (a max instruction need not keep the sign of the first of two equal zeros).
                    best = load(x, winner, f32);
                }
                long o = yBase + oy * ys[2] + ox * ys[3];
                if (f32) y.setAtIndex(F32, o, (float) best);
                else y.setAtIndex(F64, o, best);
                idx.setAtIndex(I64, iBase + oy * is[2] + ox * is[3], at);
            }
        }
    }

    private static double load(MemorySegment x, long i, boolean f32) {
        return f32 ? x.getAtIndex(F32, i) : x.getAtIndex(F64, i);
    }
}
