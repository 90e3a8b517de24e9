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
        IntConsumer plane = pl -> {
            int n = pl / channels, c = pl % channels;
            pool(x, input.offset() + n * input.strides()[0] + c * input.strides()[1], input.strides(), s[2], s[3], spec,
                    y, out.offset() + n * out.strides()[0] + c * out.strides()[1], out.strides(),
                    idx, indices.offset() + n * indices.strides()[0] + c * indices.strides()[1], indices.strides(),
                    oh, ow, f32);
        };
        if (taps >= PARALLEL_TAPS) {
            WorkerPool.shared().run(planes, plane);
        } else {
            for (int pl = 0; pl < planes; pl++) plane.accept(pl);
        }
    }

    private static void pool(MemorySegment x, long xBase, long[] xs, int h, int w, Pool2dSpec spec,
                             MemorySegment y, long yBase, long[] ys, MemorySegment idx, long iBase, long[] is,
                             int oh, int ow, boolean f32) {
        int kh = spec.kernelH(), kw = spec.kernelW(), dh = spec.dilationH(), dw = spec.dilationW();
        for (int oy = 0; oy < oh; oy++) {
            int y0 = oy * spec.strideH() - spec.padH();
            // In-bounds taps r of the window's rows: 0 <= y0 + r * dh < h.
            int r0 = Math.max(0, Math.ceilDiv(-y0, dh)), r1 = Math.min(kh, Math.floorDiv(h - 1 - y0, dh) + 1);
            for (int ox = 0; ox < ow; ox++) {
                int x0 = ox * spec.strideW() - spec.padW();
                int q0 = Math.max(0, Math.ceilDiv(-x0, dw)), q1 = Math.min(kw, Math.floorDiv(w - 1 - x0, dw) + 1);
                double best = Double.NEGATIVE_INFINITY;
                long at = (long) Math.clamp(y0, 0, h - 1) * w + Math.clamp(x0, 0, w - 1);
                boolean first = true;
                search:
                for (int r = r0; r < r1; r++) {
                    int iy = y0 + r * dh;
                    long row = xBase + iy * xs[2];
                    for (int q = q0; q < q1; q++) {
                        int ix = x0 + q * dw;
                        double v = f32 ? x.getAtIndex(F32, row + ix * xs[3]) : x.getAtIndex(F64, row + ix * xs[3]);
                        if (first || v > best || v != v) {
                            best = v;
                            at = (long) iy * w + ix;
                            first = false;
                            if (v != v) break search;
                        }
                    }
                }
                long o = yBase + oy * ys[2] + ox * ys[3];
                if (f32) y.setAtIndex(F32, o, (float) best);
                else y.setAtIndex(F64, o, best);
                idx.setAtIndex(I64, iBase + oy * is[2] + ox * is[3], at);
            }
        }
    }
}
