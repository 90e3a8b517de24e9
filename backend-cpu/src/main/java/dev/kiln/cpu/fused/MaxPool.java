package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.Pool2dSpec;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.WorkerPool;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.IntConsumer;

import static dev.kiln.cpu.simd.NativeSegments.typed;

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
    /** Windows per vector step: one long lane per window's pair of floats in a row. */
    private static final VectorSpecies<Long> PAIRS = LongVector.SPECIES_PREFERRED;
    /** Int and float lanes, as many as PAIRS has, in half its width. */
    private static final VectorSpecies<Integer> HALF = VectorSpecies.of(int.class, VectorShape.forBitSize(PAIRS.vectorBitSize() / 2));
    private static final VectorSpecies<Float> FLOATS = VectorSpecies.of(float.class, VectorShape.forBitSize(PAIRS.vectorBitSize() / 2));
    private static final IntVector ZERO = IntVector.zero(HALF), ONE = IntVector.broadcast(HALF, 1), EVEN = IntVector.zero(HALF).addIndex(2);
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
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
        boolean pairs = isPairs(spec, s[2], s[3], oh, ow);
        IntConsumer plane = pl -> {
            int n = pl / channels, c = pl % channels;
            if (pairs) {
                pool2x2(x, input.offset() + n * input.strides()[0] + c * input.strides()[1], input.strides(), s[3], oh, ow,
                        y, out.offset() + n * out.strides()[0] + c * out.strides()[1], out.strides(),
                        idx, indices.offset() + n * indices.strides()[0] + c * indices.strides()[1], indices.strides(), f32);
                return;
            }
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
     * Whether every window is a whole 2x2 block of the input at stride 2 (the pooling of most convolutional
     * networks): no padding or dilation, and every window inside the input even in ceil mode.
     */
    private static boolean isPairs(Pool2dSpec spec, int h, int w, int oh, int ow) {
        return spec.kernelH() == 2 && spec.kernelW() == 2 && spec.strideH() == 2 && spec.strideW() == 2
                && spec.padH() == 0 && spec.padW() == 0 && spec.dilationH() == 1 && spec.dilationW() == 1
                && 2 * oh <= h && 2 * ow <= w;
    }

    /**
     * One plane of 2x2 windows at stride 2, all inside the input: the four taps in window order, with the same
     * first-maximum-or-first-NaN rule as {@link #searchF32}. Float32 planes have their own loop: going through
     * double and a dtype branch per tap made this the largest op of LeNet's step (30 ns a window).
     */
    private static void pool2x2(MemorySegment x, long xBase, long[] xs, int w, int oh, int ow,
                                MemorySegment y, long yBase, long[] ys, MemorySegment idx, long iBase, long[] is, boolean f32) {
        long sh = xs[2], sw = xs[3];
        for (int oy = 0; oy < oh; oy++) {
            long top = xBase + 2L * oy * sh, yRow = yBase + oy * ys[2], iRow = iBase + oy * is[2];
            long topIndex = 2L * oy * w;
            if (f32 && sw == 1 && ys[3] == 1 && is[3] == 1 && (long) oh * 2 * w <= Integer.MAX_VALUE) {
                pairRowVector(x, top, sh, ow, y, yRow, idx, iRow, (int) topIndex, w);
                continue;
            }
            if (f32) {
                pairRowF32(x, top, sh, sw, ow, y, yRow, ys[3], idx, iRow, is[3], topIndex, w);
                continue;
            }
            for (int ox = 0; ox < ow; ox++) {
                long a = top + 2L * ox * sw;
                double best = x.getAtIndex(F64, a);
                int tap = 0;
                for (int t = 1; t < 4; t++) {
                    double v = x.getAtIndex(F64, a + (t >> 1) * sh + (t & 1) * sw);
                    boolean better = (v > best || v != v) && best == best;
                    best = better ? v : best;
                    tap = better ? t : tap;
                }
                y.setAtIndex(F64, yRow + ox * ys[3], best);
                idx.setAtIndex(I64, iRow + ox * is[3], topIndex + (tap >> 1) * (long) w + 2L * ox + (tap & 1));
            }
        }
    }

    /**
     * One output row of {@link #pool2x2} on float32 with unit strides along the rows, a vector of windows at a time:
     * a window's two floats in one input row are read as one long lane and split into the left tap (the low half)
     * and the right, so no shuffle is needed. The left/right choice is made in each row, then top against bottom,
     * which keeps the first maximum in window order (a tie goes to the earlier tap; NaN wins unless a NaN won
     * before it). The scalar loop spent 7 ns a window on mispredicted compares, LeNet's first pooling 0.56 ms of a
     * 5.7 ms step. Everything is written out in this one method: with the comparisons in a helper, C2 stopped
     * inlining partway (NodeCountInliningCutoff) and boxed the vectors.
     */
    private static void pairRowVector(MemorySegment x, long top, long sh, int ow, MemorySegment y, long yRow,
                                      MemorySegment idx, long iRow, int topIndex, int w) {
        x = typed(x);
        y = typed(y);
        idx = typed(idx);
        long topBytes = top * Float.BYTES, bottomBytes = (top + sh) * Float.BYTES;
        for (int ox = 0; ox < ow; ox += PAIRS.length()) {
            VectorMask<Long> inRow = PAIRS.indexInRange(ox, ow);
            LongVector upper = LongVector.fromMemorySegment(PAIRS, x, topBytes + (long) ox * Long.BYTES, ORDER, inRow);
            LongVector lower = LongVector.fromMemorySegment(PAIRS, x, bottomBytes + (long) ox * Long.BYTES, ORDER, inRow);
            FloatVector t0 = ((IntVector) upper.convertShape(VectorOperators.L2I, HALF, 0)).reinterpretAsFloats();
            FloatVector t1 = ((IntVector) upper.lanewise(VectorOperators.LSHR, 32).convertShape(VectorOperators.L2I, HALF, 0)).reinterpretAsFloats();
            FloatVector t2 = ((IntVector) lower.convertShape(VectorOperators.L2I, HALF, 0)).reinterpretAsFloats();
            FloatVector t3 = ((IntVector) lower.lanewise(VectorOperators.LSHR, 32).convertShape(VectorOperators.L2I, HALF, 0)).reinterpretAsFloats();
            VectorMask<Float> nan0 = t0.test(VectorOperators.IS_NAN), nan2 = t2.test(VectorOperators.IS_NAN);
            VectorMask<Float> upperRight = t1.compare(VectorOperators.GT, t0).or(t1.test(VectorOperators.IS_NAN)).andNot(nan0);
            VectorMask<Float> lowerRight = t3.compare(VectorOperators.GT, t2).or(t3.test(VectorOperators.IS_NAN)).andNot(nan2);
            FloatVector upperBest = t0.blend(t1, upperRight), lowerBest = t2.blend(t3, lowerRight);
            VectorMask<Float> down = lowerBest.compare(VectorOperators.GT, upperBest).or(lowerBest.test(VectorOperators.IS_NAN))
                    .andNot(upperBest.test(VectorOperators.IS_NAN));
            VectorMask<Integer> downI = down.cast(HALF);
            IntVector column = ZERO.blend(ONE, upperRight.cast(HALF)).blend(ZERO.blend(ONE, lowerRight.cast(HALF)), downI);
            IntVector index = column.add(ZERO.blend(w, downI)).add(EVEN).add(topIndex + 2 * ox);
            upperBest.blend(lowerBest, down).intoMemorySegment(y, (yRow + ox) * Float.BYTES, ORDER, inRow.cast(FLOATS));
            index.convertShape(VectorOperators.I2L, PAIRS, 0).intoMemorySegment(idx, (iRow + ox) * Long.BYTES, ORDER, inRow);
        }
    }

    /** One output row of {@link #pool2x2} on float32. */
    private static void pairRowF32(MemorySegment x, long top, long sh, long sw, int ow, MemorySegment y, long yRow, long ysw,
                                   MemorySegment idx, long iRow, long isw, long topIndex, int w) {
        for (int ox = 0; ox < ow; ox++) {
            long a = top + 2L * ox * sw;
            float t0 = x.getAtIndex(F32, a), t1 = x.getAtIndex(F32, a + sw);
            float t2 = x.getAtIndex(F32, a + sh), t3 = x.getAtIndex(F32, a + sh + sw);
            float best = t0;
            int tap = 0;
            if ((t1 > best || t1 != t1) && best == best) { best = t1; tap = 1; }
            if ((t2 > best || t2 != t2) && best == best) { best = t2; tap = 2; }
            if ((t3 > best || t3 != t3) && best == best) { best = t3; tap = 3; }
            y.setAtIndex(F32, yRow + ox * ysw, best);
            idx.setAtIndex(I64, iRow + ox * isw, topIndex + (tap >> 1) * (long) w + 2L * ox + (tap & 1));
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
                long o = yBase + oy * ys[2] + ox * ys[3];
                int iy = rows.clamped(oy), ix = cols.clamped(ox);
                if (r0 < r1 && q0 < q1) {
                    long tap = f32 ? searchF32(x, xBase, xs[2], xs[3], rows, cols, oy, ox)
                            : searchF64(x, xBase, xs[2], xs[3], rows, cols, oy, ox);
                    iy = rows.at(oy, (int) (tap >>> 32));
                    ix = cols.at(ox, (int) tap);
                    // The value is the element the index names (a max of two equal zeros need not be the first).
                    long src = xBase + iy * xs[2] + ix * xs[3];
                    if (f32) y.setAtIndex(F32, o, x.getAtIndex(F32, src));
                    else y.setAtIndex(F64, o, x.getAtIndex(F64, src));
                } else if (f32) {
                    y.setAtIndex(F32, o, Float.NEGATIVE_INFINITY);
                } else {
                    y.setAtIndex(F64, o, Double.NEGATIVE_INFINITY);
                }
                idx.setAtIndex(I64, iBase + oy * is[2] + ox * is[3], (long) iy * w + ix);
            }
        }
    }

    // The window searches return the winning tap as (row tap << 32 | column tap). They are written without
    // branches on the data, since an unpredictable compare costs more than the selects; once the best is NaN
    // nothing replaces it, so the first NaN wins. float and double are two copies so each stays small enough for
    // the compiler to inline its memory accesses.

    private static long searchF32(MemorySegment x, long base, long sh, long sw, Taps rows, Taps cols, int oy, int ox) {
        int r0 = rows.from[oy], r1 = rows.to[oy], q0 = cols.from[ox], q1 = cols.to[ox];
        float best = x.getAtIndex(F32, base + rows.at(oy, r0) * sh + cols.at(ox, q0) * sw);
        long tap = (long) r0 << 32 | q0;
        for (int r = r0; r < r1; r++) {
            long row = base + rows.at(oy, r) * sh;
            for (int q = q0; q < q1; q++) {
                float v = x.getAtIndex(F32, row + cols.at(ox, q) * sw);
                boolean better = (v > best || v != v) && best == best;
                best = better ? v : best;
                tap = better ? (long) r << 32 | q : tap;
            }
        }
        return tap;
    }

    private static long searchF64(MemorySegment x, long base, long sh, long sw, Taps rows, Taps cols, int oy, int ox) {
        int r0 = rows.from[oy], r1 = rows.to[oy], q0 = cols.from[ox], q1 = cols.to[ox];
        double best = x.getAtIndex(F64, base + rows.at(oy, r0) * sh + cols.at(ox, q0) * sw);
        long tap = (long) r0 << 32 | q0;
        for (int r = r0; r < r1; r++) {
            long row = base + rows.at(oy, r) * sh;
            for (int q = q0; q < q1; q++) {
                double v = x.getAtIndex(F64, row + cols.at(ox, q) * sw);
                boolean better = (v > best || v != v) && best == best;
                best = better ? v : best;
                tap = better ? (long) r << 32 | q : tap;
            }
        }
        return tap;
    }
}
