package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.FloatMath;
import dev.kiln.cpu.simd.Lanes;
import dev.kiln.cpu.simd.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.kiln.cpu.simd.NativeSegments.typed;

/**
 * Softmax and log-softmax along the last axis of dense float32 (vectorised) and float64 views: per row a max,
 * a sum of exp(x - max), and the normalisation, the same three steps as the composed default; softmax multiplies
 * by {@code 1 / sum} where the default divides by the sum (within an ulp or two), log-softmax is the same
 * {@code (x - max) - log(sum)}. Rows are split over the pool only when there are enough of them to pay for
 * waking a worker.
 */
public final class Softmax {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /**
     * Elements below which one thread does all rows (a few microseconds of work). Handing rows to a worker that is
     * still polling costs about a microsecond, and one that has parked costs the caller only the unpark: rows are
     * claimed as they go, so the caller runs them all if the worker wakes late. 64 x 1024 floats: 0.026 ms on the
     * caller alone against 0.013 split; 16 x 1024: 0.007 against 0.004; either after 1 ms idle: 0.031 both.
     */
    private static final long PARALLEL_ELEMENTS = 1L << 13;

    private Softmax() {}

    public static boolean handles(View x, int axis, View out) {
        return (x.dtype() == DType.FLOAT32 || x.dtype() == DType.FLOAT64) && axis == x.rank() - 1
                && x.isContiguous() && out.isContiguous();
    }

    public static void forward(View x, MemorySegment xs, boolean log, View out, MemorySegment ys) {
        int len = x.shape()[x.rank() - 1];
        if (len == 0) return;
        long rows = x.numel() / len;
        boolean f32 = x.dtype() == DType.FLOAT32;
        int tasks = x.numel() < PARALLEL_ELEMENTS ? 1 : (int) Math.min(rows, 4L * WorkerPool.shared().parallelism());
        long per = Math.ceilDiv(rows, tasks);
        WorkerPool.shared().run(tasks, t -> {
            for (long r = t * per, end = Math.min(rows, r + per); r < end; r++) {
                long xo = x.offset() + r * len, yo = out.offset() + r * len;
                if (f32) rowF32(xs, xo, ys, yo, len, log);
                else rowF64(xs, xo, ys, yo, len, log);
            }
        });
    }

    /**
     * One row. Its vector loops are methods of their own: in one method with the max, the exp loop and the final
     * pass, C2 went past {@code NodeCountInliningCutoff} (64 x 1024, split over the pool: 0.014-0.015 ms in one
     * method against 0.012 split). The exp loop's closing lane sum is still left a call, one boxed vector a row.
     */
    private static void rowF32(MemorySegment x, long xo, MemorySegment y, long yo, int len, boolean log) {
        long xb = xo * Float.BYTES, yb = yo * Float.BYTES;
        int bound = S.loopBound(len);
        float max = maxF32(x, xb, bound);
        for (int i = bound; i < len; i++) max = Math.max(max, x.getAtIndex(F32, xo + i));

        float sum = expSumF32(x, xb, log ? null : y, yb, bound, max);
        for (int i = bound; i < len; i++) {
            float e = (float) Math.exp(x.getAtIndex(F32, xo + i) - max);
            if (!log) y.setAtIndex(F32, yo + i, e);
            sum += e;
        }

        if (log) {
            float logSum = (float) Math.log(sum);
            shiftF32(x, xb, y, yb, bound, max, logSum);
            for (int i = bound; i < len; i++) y.setAtIndex(F32, yo + i, (x.getAtIndex(F32, xo + i) - max) - logSum);
        } else {
            float scale = 1 / sum;
            scaleF32(y, yb, bound, scale);
            for (int i = bound; i < len; i++) y.setAtIndex(F32, yo + i, y.getAtIndex(F32, yo + i) * scale);
        }
    }

    /** The sum of exp(x - max) over the first {@code bound} elements, each also written to y unless y is null. */
    private static float expSumF32(MemorySegment x, long xb, MemorySegment y, long yb, int bound, float max) {
        x = typed(x);
        y = typed(y);
        FloatVector vsum = FloatVector.zero(S), vsum2 = vsum;
        FloatVector vshift = FloatVector.broadcast(S, max);
        int l = S.length(), k = 0;
        // Two vectors an iteration, for the reason given at FloatLoops' exp loop.
        for (; k + l < bound; k += 2 * l) {
            FloatVector e = FloatMath.exp(FloatVector.fromMemorySegment(S, x, xb + (long) k * Float.BYTES, ORDER).sub(vshift));
            FloatVector e2 = FloatMath.exp(FloatVector.fromMemorySegment(S, x, xb + (long) (k + l) * Float.BYTES, ORDER).sub(vshift));
            if (y != null) {
                e.intoMemorySegment(y, yb + (long) k * Float.BYTES, ORDER);
                e2.intoMemorySegment(y, yb + (long) (k + l) * Float.BYTES, ORDER);
            }
            vsum = vsum.add(e);
            vsum2 = vsum2.add(e2);
        }
        if (k < bound) {
            FloatVector e = FloatMath.exp(FloatVector.fromMemorySegment(S, x, xb + (long) k * Float.BYTES, ORDER).sub(vshift));
            if (y != null) e.intoMemorySegment(y, yb + (long) k * Float.BYTES, ORDER);
            vsum = vsum.add(e);
        }
        return Lanes.sum(vsum.add(vsum2));
    }

    /** {@code y = x - max - logSum} over the first {@code bound} elements. */
    private static void shiftF32(MemorySegment x, long xb, MemorySegment y, long yb, int bound, float max, float logSum) {
        x = typed(x);
        y = typed(y);
        FloatVector vshift = FloatVector.broadcast(S, max), vlog = FloatVector.broadcast(S, logSum);
        for (int i = 0; i < bound; i += S.length())
            FloatVector.fromMemorySegment(S, x, xb + (long) i * Float.BYTES, ORDER).sub(vshift).sub(vlog)
                    .intoMemorySegment(y, yb + (long) i * Float.BYTES, ORDER);
    }

    /** {@code y *= scale} over the first {@code bound} elements. */
    private static void scaleF32(MemorySegment y, long yb, int bound, float scale) {
        y = typed(y);
        FloatVector vs = FloatVector.broadcast(S, scale);
        for (int i = 0; i < bound; i += S.length()) {
            long at = yb + (long) i * Float.BYTES;
            FloatVector.fromMemorySegment(S, y, at, ORDER).mul(vs).intoMemorySegment(y, at, ORDER);
        }
    }

    /**
     * The max of the first {@code bound} elements (a multiple of the vector length) from byte offset xb. Four
     * independent running maxima: a vector max with Java's NaN and signed-zero rules is a chain of several
     * instructions, and one running maximum would wait on it at every step.
     */
    private static float maxF32(MemorySegment x, long xb, int bound) {
        x = typed(x);
        int step = S.length(), bound4 = bound - bound % (4 * step), i = 0;
        FloatVector m0 = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY), m1 = m0, m2 = m0, m3 = m0;
        for (; i < bound4; i += 4 * step) {
            long at = xb + (long) i * Float.BYTES;
            m0 = m0.max(FloatVector.fromMemorySegment(S, x, at, ORDER));
            m1 = m1.max(FloatVector.fromMemorySegment(S, x, at + (long) step * Float.BYTES, ORDER));
            m2 = m2.max(FloatVector.fromMemorySegment(S, x, at + 2L * step * Float.BYTES, ORDER));
            m3 = m3.max(FloatVector.fromMemorySegment(S, x, at + 3L * step * Float.BYTES, ORDER));
        }
        for (; i < bound; i += step) m0 = m0.max(FloatVector.fromMemorySegment(S, x, xb + (long) i * Float.BYTES, ORDER));
        return m0.max(m1).max(m2.max(m3)).reduceLanes(VectorOperators.MAX);
    }

    private static void rowF64(MemorySegment x, long xo, MemorySegment y, long yo, int len, boolean log) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < len; i++) max = Math.max(max, x.getAtIndex(F64, xo + i));
        double sum = 0;
        for (int i = 0; i < len; i++) {
            double e = Math.exp(x.getAtIndex(F64, xo + i) - max);
            if (!log) y.setAtIndex(F64, yo + i, e);
            sum += e;
        }
        if (log) {
            double logSum = Math.log(sum);
            for (int i = 0; i < len; i++) y.setAtIndex(F64, yo + i, (x.getAtIndex(F64, xo + i) - max) - logSum);
        } else {
            for (int i = 0; i < len; i++) y.setAtIndex(F64, yo + i, y.getAtIndex(F64, yo + i) / sum);
        }
    }
}
