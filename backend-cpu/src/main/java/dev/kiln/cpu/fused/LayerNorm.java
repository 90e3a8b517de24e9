package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.Backend;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.Lanes;
import dev.kiln.cpu.simd.WorkerPool;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.Function;

import static dev.kiln.cpu.simd.NativeSegments.typed;

/**
 * Layer normalisation and its gradient for float32 and float64, one row (the trailing normalised dimensions,
 * contiguous) at a time: the row stays in L1 while it is read two or three times, so the statistics are exact
 * two-pass ones (mean, then the mean square deviation) at the cost of one trip through memory.
 *
 * <p>Rows are split over the pool when there are enough elements to pay for waking a worker. The weight and bias
 * gradients are sums over rows, so each chunk of rows accumulates its own partial sums, added up at the end.
 * Inputs that are not dense (a transposed x, a broadcast gradient) are copied dense first; outputs must be dense.
 *
 * <p>The row loops exist once per element type, because the Vector API names its vector class; everything else
 * (splitting, partial sums, copies) is shared.
 */
public final class LayerNorm {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    /**
     * Elements below which one thread does every row, as for {@link Softmax}: a polling worker takes rows in about a
     * microsecond, and rows are claimed as they go (nanoGPT's 12 x 64 x 128: 0.044 ms forward alone, 0.029 split).
     */
    private static final long PARALLEL_ELEMENTS = 1L << 13;
    /** Row chunks per thread, so that a thread slowed by the machine is not waited on for long. */
    private static final int CHUNKS_PER_THREAD = 4;

    private LayerNorm() {}

    /** Whether the kernels take these: x float32 or float64, and every output (null where not wanted) dense. */
    public static boolean handles(View x, View... outputs) {
        if (x.dtype() != DType.FLOAT32 && x.dtype() != DType.FLOAT64) return false;
        for (View v : outputs) if (v != null && !v.isContiguous()) return false;
        return true;
    }

    /** See {@link Backend#layerNorm}; {@code memory} gives the host segment under a view. */
    public static void forward(Backend be, Function<View, MemorySegment> memory, View x, int normalizedDims, View weight,
                               View bias, double eps, View out, View mean, View invStd) {
        try (Dense xd = Dense.of(be, x); Dense wd = Dense.of(be, weight); Dense bd = Dense.of(be, bias)) {
            Rows rows = Rows.of(x, normalizedDims);
            Operand xs = Operand.of(memory, xd.view), w = Operand.of(memory, wd.view), b = Operand.of(memory, bd.view),
                    y = Operand.of(memory, out), m = Operand.of(memory, mean), s = Operand.of(memory, invStd);
            boolean f32 = x.dtype() == DType.FLOAT32;
            rows.split(CHUNKS_PER_THREAD, (chunk, from, to) -> {
                for (long r = from; r < to; r++) {
                    if (f32) forwardRowF32(xs, w, b, y, m, s, r, rows.size, eps);
                    else forwardRowF64(xs, w, b, y, m, s, r, rows.size, eps);
                }
            });
        }
    }

    /** See {@link Backend#layerNormBackward}. */
    public static void backward(Backend be, Function<View, MemorySegment> memory, View gradOut, View x, int normalizedDims,
                                View weight, View mean, View invStd, View gradInput, View gradWeight, View gradBias) {
        try (Dense gd = Dense.of(be, gradOut); Dense xd = Dense.of(be, x); Dense wd = Dense.of(be, weight)) {
            Rows rows = Rows.of(x, normalizedDims);
            int n = rows.size;
            DType t = x.dtype();
            boolean f32 = t == DType.FLOAT32, columns = gradWeight != null || gradBias != null;
            int chunks = rows.chunks(CHUNKS_PER_THREAD);
            // Per chunk: n partial weight-gradient sums, then n partial bias-gradient sums.
            MemorySegment partials = columns ? Scratch.get(Scratch.PARTIALS, 2L * chunks * n * t.byteSize()) : null;
            Operand dy = Operand.of(memory, gd.view), xs = Operand.of(memory, xd.view), w = Operand.of(memory, wd.view),
                    m = Operand.of(memory, mean), s = Operand.of(memory, invStd), dx = Operand.of(memory, gradInput);
            rows.split(CHUNKS_PER_THREAD, (chunk, from, to) -> {
                if (columns) partials.asSlice(2L * chunk * n * t.byteSize(), 2L * n * t.byteSize()).fill((byte) 0);
                Operand gw = gradWeight == null ? null : new Operand(partials, 2L * chunk * n);
                Operand gb = gradBias == null ? null : new Operand(partials, (2L * chunk + 1) * n);
                for (long r = from; r < to; r++) {
                    if (f32) backwardRowF32(dy, xs, w, m, s, dx, gw, gb, r, n);
                    else backwardRowF64(dy, xs, w, m, s, dx, gw, gb, r, n);
                }
            });
            if (columns) {
                sumPartials(t, partials, 0, chunks, n, gradWeight == null ? null : Operand.of(memory, gradWeight));
                sumPartials(t, partials, n, chunks, n, gradBias == null ? null : Operand.of(memory, gradBias));
            }
        }
    }

    /** {@code out[j] = sum over chunks c of partials[2 c n + first + j]}; chunks that had no rows hold zeros. */
    private static void sumPartials(DType t, MemorySegment partials, long first, int chunks, int n, Operand out) {
        if (out == null) return;
        boolean f32 = t == DType.FLOAT32;
        for (int j = 0; j < n; j++) {
            double acc = 0;
            for (int c = 0; c < chunks; c++) {
                long at = 2L * c * n + first + j;
                acc += f32 ? partials.getAtIndex(F32, at) : partials.getAtIndex(F64, at);
            }
            if (f32) out.segment.setAtIndex(F32, out.offset + j, (float) acc);
            else out.segment.setAtIndex(F64, out.offset + j, acc);
        }
    }

    // ---- float32 rows --------------------------------------------------------------------------------------

    private static void forwardRowF32(Operand x, Operand w, Operand b, Operand y, Operand mean, Operand invStd, long r, int n, double eps) {
        long xb = x.rowByte(r, n, Float.BYTES), yb = y.rowByte(r, n, Float.BYTES);
        int bound = FS.loopBound(n);
        float sum = sumF32(x.segment, xb, bound);
        for (int i = bound; i < n; i++) sum += x.segment.get(F32, xb + (long) i * Float.BYTES);
        float mu = sum / n;

        float squares = squaredDeviationsF32(x.segment, xb, bound, mu);
        for (int i = bound; i < n; i++) {
            float d = x.segment.get(F32, xb + (long) i * Float.BYTES) - mu;
            squares += d * d;
        }
        float inv = (float) (1 / Math.sqrt(squares / n + eps));
        mean.segment.setAtIndex(F32, mean.offset + r, mu);
        invStd.segment.setAtIndex(F32, invStd.offset + r, inv);

        normalizeF32(x.segment, xb, y.segment, yb, w.segment, w.byteOffset(Float.BYTES), b.segment, b.byteOffset(Float.BYTES), mu, inv, n);
    }

    /**
     * {@code y = (x - mu) * inv * w + b} over one row (w, b null: absent). The normalising loop of each type is a
     * method of its own, called after the statistics: inlined into the row method after the two sums, it went past
     * C2's {@code NodeCountInliningCutoff}, so its loads and vector ops stayed calls with boxed vectors (4096 x 768:
     * float32 1.05 against 0.32 ms, float64 5.9 against 0.85).
     */
    private static void normalizeF32(MemorySegment x, long xb, MemorySegment y, long yb, MemorySegment w, long wb, MemorySegment b, long bb,
                                     float mu, float inv, int n) {
        x = typed(x);
        w = typed(w);
        b = typed(b);
        y = typed(y);
        FloatVector vmu = FloatVector.broadcast(FS, mu), vinv = FloatVector.broadcast(FS, inv);
        int bound = FS.loopBound(n), step = FS.length();
        // Loads are written out rather than behind a helper: a helper that returns a vector and is not inlined (in a
        // large caller it sometimes is not) boxes every vector, about 5 MB per nanoGPT step.
        for (int i = 0; i < bound; i += step) {
            long at = (long) i * Float.BYTES;
            FloatVector v = FloatVector.fromMemorySegment(FS, x, xb + at, ORDER).sub(vmu).mul(vinv);
            if (w != null) {
                FloatVector scale = FloatVector.fromMemorySegment(FS, w, wb + at, ORDER);
                v = b != null ? v.fma(scale, FloatVector.fromMemorySegment(FS, b, bb + at, ORDER)) : v.mul(scale);
            } else if (b != null) {
                v = v.add(FloatVector.fromMemorySegment(FS, b, bb + at, ORDER));
            }
            v.intoMemorySegment(y, yb + at, ORDER);
        }
        for (int i = bound; i < n; i++) {
            long at = (long) i * Float.BYTES;
            float v = (x.get(F32, xb + at) - mu) * inv;
            if (w != null) v *= w.get(F32, wb + at);
            if (b != null) v += b.get(F32, bb + at);
            y.set(F32, yb + at, v);
        }
    }

    /**
     * One row's share of the gradients: {@code dx = invStd * (g - <g> - xhat * <g xhat>)} with {@code g = dy * w},
     * and {@code dy * xhat}, {@code dy} added to the chunk's partial sums (each of dx, gw, gb absent when not wanted).
     * Its two loops are methods of their own for the reason given at {@link #normalizeF32}.
     */
    private static void backwardRowF32(Operand dy, Operand x, Operand w, Operand mean, Operand invStd, Operand dx,
                                       Operand gw, Operand gb, long r, int n) {
        long dyb = dy.rowByte(r, n, Float.BYTES), xb = x.rowByte(r, n, Float.BYTES), wb = w.byteOffset(Float.BYTES);
        float mu = mean.segment.getAtIndex(F32, mean.offset + r), inv = invStd.segment.getAtIndex(F32, invStd.offset + r);
        RowMeans means = dx.present() ? gradientMeansF32(dy.segment, dyb, x.segment, xb, w.segment, wb, mu, inv, n) : RowMeans.NONE;
        rowGradientsF32(dy.segment, dyb, x.segment, xb, w.segment, wb, mu, inv, (float) means.g(), (float) means.gXhat(), dx.segment,
                dx.rowByte(r, n, Float.BYTES), gw == null ? null : gw.segment, gw == null ? 0 : gw.byteOffset(Float.BYTES),
                gb == null ? null : gb.segment, gb == null ? 0 : gb.byteOffset(Float.BYTES), n);
    }

    /** The means over one row of {@code g = dy * w} (w null: ones) and of {@code g * xhat}. */
    private static RowMeans gradientMeansF32(MemorySegment dy, long dyb, MemorySegment x, long xb, MemorySegment w, long wb, float mu,
                                             float inv, int n) {
        dy = typed(dy);
        w = typed(w);
        x = typed(x);
        int bound = FS.loopBound(n), step = FS.length();
        FloatVector vmu = FloatVector.broadcast(FS, mu), vinv = FloatVector.broadcast(FS, inv);
        FloatVector accG = FloatVector.zero(FS), accGXhat = FloatVector.zero(FS);
        for (int i = 0; i < bound; i += step) {
            long at = (long) i * Float.BYTES;
            FloatVector g = FloatVector.fromMemorySegment(FS, dy, dyb + at, ORDER);
            if (w != null) g = g.mul(FloatVector.fromMemorySegment(FS, w, wb + at, ORDER));
            accG = accG.add(g);
            accGXhat = FloatVector.fromMemorySegment(FS, x, xb + at, ORDER).sub(vmu).mul(vinv).fma(g, accGXhat);
        }
        float sumG = Lanes.sum(accG), sumGXhat = Lanes.sum(accGXhat);
        for (int i = bound; i < n; i++) {
            long at = (long) i * Float.BYTES;
            float g = dy.get(F32, dyb + at) * (w != null ? w.get(F32, wb + at) : 1);
            sumG += g;
            sumGXhat += g * (x.get(F32, xb + at) - mu) * inv;
        }
        return new RowMeans(sumG / n, sumGXhat / n);
    }

    /** One row's dx (where dx is not null) and its terms added to the chunk's partial sums gw and gb (where not null). */
    private static void rowGradientsF32(MemorySegment dy, long dyb, MemorySegment x, long xb, MemorySegment w, long wb, float mu, float inv,
                                        float meanG, float meanGXhat, MemorySegment dx, long dxb, MemorySegment gw, long gwb,
                                        MemorySegment gb, long gbb, int n) {
        dy = typed(dy);
        x = typed(x);
        w = typed(w);
        dx = typed(dx);
        gw = typed(gw);
        gb = typed(gb);
        int bound = FS.loopBound(n), step = FS.length();
        FloatVector vmu = FloatVector.broadcast(FS, mu), vinv = FloatVector.broadcast(FS, inv);
        FloatVector vmeanG = FloatVector.broadcast(FS, meanG), vmeanGXhat = FloatVector.broadcast(FS, meanGXhat);
        for (int i = 0; i < bound; i += step) {
            long at = (long) i * Float.BYTES;
            FloatVector d = FloatVector.fromMemorySegment(FS, dy, dyb + at, ORDER);
            FloatVector xhat = FloatVector.fromMemorySegment(FS, x, xb + at, ORDER).sub(vmu).mul(vinv);
            if (dx != null) {
                FloatVector g = w != null ? d.mul(FloatVector.fromMemorySegment(FS, w, wb + at, ORDER)) : d;
                g.sub(vmeanG).sub(xhat.mul(vmeanGXhat)).mul(vinv).intoMemorySegment(dx, dxb + at, ORDER);
            }
            if (gw != null) d.fma(xhat, FloatVector.fromMemorySegment(FS, gw, gwb + at, ORDER)).intoMemorySegment(gw, gwb + at, ORDER);
            if (gb != null) d.add(FloatVector.fromMemorySegment(FS, gb, gbb + at, ORDER)).intoMemorySegment(gb, gbb + at, ORDER);
        }
        for (int i = bound; i < n; i++) {
            long at = (long) i * Float.BYTES;
            float d = dy.get(F32, dyb + at), xhat = (x.get(F32, xb + at) - mu) * inv;
            if (dx != null) dx.set(F32, dxb + at, (d * (w != null ? w.get(F32, wb + at) : 1) - meanG - xhat * meanGXhat) * inv);
            if (gw != null) gw.set(F32, gwb + at, gw.get(F32, gwb + at) + d * xhat);
            if (gb != null) gb.set(F32, gbb + at, gb.get(F32, gbb + at) + d);
        }
    }

    // Sums keep four running vectors: one would wait out the add's latency at every step of the row.

    /** The sum of the first {@code bound} elements (a multiple of the vector length) from byte offset rowByte. */
    private static float sumF32(MemorySegment s, long rowByte, int bound) {
        s = typed(s);
        int step = FS.length(), i = 0;
        FloatVector a0 = FloatVector.zero(FS), a1 = a0, a2 = a0, a3 = a0;
        for (; i + 4 * step <= bound; i += 4 * step) {
            long at = rowByte + (long) i * Float.BYTES, stride = (long) step * Float.BYTES;
            a0 = a0.add(FloatVector.fromMemorySegment(FS, s, at, ORDER));
            a1 = a1.add(FloatVector.fromMemorySegment(FS, s, at + stride, ORDER));
            a2 = a2.add(FloatVector.fromMemorySegment(FS, s, at + 2 * stride, ORDER));
            a3 = a3.add(FloatVector.fromMemorySegment(FS, s, at + 3 * stride, ORDER));
        }
        for (; i < bound; i += step) a0 = a0.add(FloatVector.fromMemorySegment(FS, s, rowByte + (long) i * Float.BYTES, ORDER));
        return Lanes.sum(a0.add(a1).add(a2.add(a3)));
    }

    /** The sum of {@code (x - mean)^2} over the first {@code bound} elements. */
    private static float squaredDeviationsF32(MemorySegment s, long rowByte, int bound, float mean) {
        s = typed(s);
        int step = FS.length(), i = 0;
        FloatVector m = FloatVector.broadcast(FS, mean), a0 = FloatVector.zero(FS), a1 = a0, a2 = a0, a3 = a0;
        for (; i + 4 * step <= bound; i += 4 * step) {
            long at = rowByte + (long) i * Float.BYTES, stride = (long) step * Float.BYTES;
            FloatVector d0 = FloatVector.fromMemorySegment(FS, s, at, ORDER).sub(m);
            FloatVector d1 = FloatVector.fromMemorySegment(FS, s, at + stride, ORDER).sub(m);
            FloatVector d2 = FloatVector.fromMemorySegment(FS, s, at + 2 * stride, ORDER).sub(m);
            FloatVector d3 = FloatVector.fromMemorySegment(FS, s, at + 3 * stride, ORDER).sub(m);
            a0 = d0.fma(d0, a0);
            a1 = d1.fma(d1, a1);
            a2 = d2.fma(d2, a2);
            a3 = d3.fma(d3, a3);
        }
        for (; i < bound; i += step) {
            FloatVector d = FloatVector.fromMemorySegment(FS, s, rowByte + (long) i * Float.BYTES, ORDER).sub(m);
            a0 = d.fma(d, a0);
        }
        return Lanes.sum(a0.add(a1).add(a2.add(a3)));
    }

    // ---- float64 rows: the same loops over DoubleVector ----------------------------------------------------

    private static void forwardRowF64(Operand x, Operand w, Operand b, Operand y, Operand mean, Operand invStd, long r, int n, double eps) {
        long xb = x.rowByte(r, n, Double.BYTES), yb = y.rowByte(r, n, Double.BYTES);
        int bound = DS.loopBound(n);
        double sum = sumF64(x.segment, xb, bound);
        for (int i = bound; i < n; i++) sum += x.segment.get(F64, xb + (long) i * Double.BYTES);
        double mu = sum / n;

        double squares = squaredDeviationsF64(x.segment, xb, bound, mu);
        for (int i = bound; i < n; i++) {
            double d = x.segment.get(F64, xb + (long) i * Double.BYTES) - mu;
            squares += d * d;
        }
        double inv = 1 / Math.sqrt(squares / n + eps);
        mean.segment.setAtIndex(F64, mean.offset + r, mu);
        invStd.segment.setAtIndex(F64, invStd.offset + r, inv);

        normalizeF64(x.segment, xb, y.segment, yb, w.segment, w.byteOffset(Double.BYTES), b.segment, b.byteOffset(Double.BYTES), mu, inv, n);
    }

    /** {@link #normalizeF32} for float64. */
    private static void normalizeF64(MemorySegment x, long xb, MemorySegment y, long yb, MemorySegment w, long wb, MemorySegment b, long bb,
                                     double mu, double inv, int n) {
        DoubleVector vmu = DoubleVector.broadcast(DS, mu), vinv = DoubleVector.broadcast(DS, inv);
        int bound = DS.loopBound(n), step = DS.length();
        for (int i = 0; i < bound; i += step) {
            DoubleVector v = loadD(x, xb, i).sub(vmu).mul(vinv);
            if (w != null) v = b != null ? v.fma(loadD(w, wb, i), loadD(b, bb, i)) : v.mul(loadD(w, wb, i));
            else if (b != null) v = v.add(loadD(b, bb, i));
            v.intoMemorySegment(typed(y), yb + (long) i * Double.BYTES, ORDER);
        }
        for (int i = bound; i < n; i++) {
            long at = (long) i * Double.BYTES;
            double v = (x.get(F64, xb + at) - mu) * inv;
            if (w != null) v *= w.get(F64, wb + at);
            if (b != null) v += b.get(F64, bb + at);
            y.set(F64, yb + at, v);
        }
    }

    private static void backwardRowF64(Operand dy, Operand x, Operand w, Operand mean, Operand invStd, Operand dx,
                                       Operand gw, Operand gb, long r, int n) {
        long dyb = dy.rowByte(r, n, Double.BYTES), xb = x.rowByte(r, n, Double.BYTES), wb = w.byteOffset(Double.BYTES);
        double mu = mean.segment.getAtIndex(F64, mean.offset + r), inv = invStd.segment.getAtIndex(F64, invStd.offset + r);
        RowMeans means = dx.present() ? gradientMeansF64(dy.segment, dyb, x.segment, xb, w.segment, wb, mu, inv, n) : RowMeans.NONE;
        rowGradientsF64(dy.segment, dyb, x.segment, xb, w.segment, wb, mu, inv, means.g(), means.gXhat(), dx.segment,
                dx.rowByte(r, n, Double.BYTES), gw == null ? null : gw.segment, gw == null ? 0 : gw.byteOffset(Double.BYTES),
                gb == null ? null : gb.segment, gb == null ? 0 : gb.byteOffset(Double.BYTES), n);
    }

    private static RowMeans gradientMeansF64(MemorySegment dy, long dyb, MemorySegment x, long xb, MemorySegment w, long wb, double mu,
                                             double inv, int n) {
        int bound = DS.loopBound(n), step = DS.length();
        DoubleVector vmu = DoubleVector.broadcast(DS, mu), vinv = DoubleVector.broadcast(DS, inv);
        DoubleVector accG = DoubleVector.zero(DS), accGXhat = DoubleVector.zero(DS);
        for (int i = 0; i < bound; i += step) {
            DoubleVector g = loadD(dy, dyb, i);
            if (w != null) g = g.mul(loadD(w, wb, i));
            accG = accG.add(g);
            accGXhat = loadD(x, xb, i).sub(vmu).mul(vinv).fma(g, accGXhat);
        }
        double sumG = Lanes.sum(accG), sumGXhat = Lanes.sum(accGXhat);
        for (int i = bound; i < n; i++) {
            long at = (long) i * Double.BYTES;
            double g = dy.get(F64, dyb + at) * (w != null ? w.get(F64, wb + at) : 1);
            sumG += g;
            sumGXhat += g * (x.get(F64, xb + at) - mu) * inv;
        }
        return new RowMeans(sumG / n, sumGXhat / n);
    }

    /** One row's dx (where dx is not null) and its terms added to the chunk's partial sums gw and gb (where not null). */
    private static void rowGradientsF64(MemorySegment dy, long dyb, MemorySegment x, long xb, MemorySegment w, long wb, double mu, double inv,
                                        double meanG, double meanGXhat, MemorySegment dx, long dxb, MemorySegment gw, long gwb,
                                        MemorySegment gb, long gbb, int n) {
        dx = typed(dx);
        gw = typed(gw);
        gb = typed(gb);
        int bound = DS.loopBound(n), step = DS.length();
        DoubleVector vmu = DoubleVector.broadcast(DS, mu), vinv = DoubleVector.broadcast(DS, inv);
        DoubleVector vmeanG = DoubleVector.broadcast(DS, meanG), vmeanGXhat = DoubleVector.broadcast(DS, meanGXhat);
        for (int i = 0; i < bound; i += step) {
            long at = (long) i * Double.BYTES;
            DoubleVector d = loadD(dy, dyb, i), xhat = loadD(x, xb, i).sub(vmu).mul(vinv);
            if (dx != null) {
                DoubleVector g = w != null ? d.mul(loadD(w, wb, i)) : d;
                g.sub(vmeanG).sub(xhat.mul(vmeanGXhat)).mul(vinv).intoMemorySegment(dx, dxb + at, ORDER);
            }
            if (gw != null) d.fma(xhat, loadD(gw, gwb, i)).intoMemorySegment(gw, gwb + at, ORDER);
            if (gb != null) d.add(loadD(gb, gbb, i)).intoMemorySegment(gb, gbb + at, ORDER);
        }
        for (int i = bound; i < n; i++) {
            long at = (long) i * Double.BYTES;
            double d = dy.get(F64, dyb + at), xhat = (x.get(F64, xb + at) - mu) * inv;
            if (dx != null) dx.set(F64, dxb + at, (d * (w != null ? w.get(F64, wb + at) : 1) - meanG - xhat * meanGXhat) * inv);
            if (gw != null) gw.set(F64, gwb + at, gw.get(F64, gwb + at) + d * xhat);
            if (gb != null) gb.set(F64, gbb + at, gb.get(F64, gbb + at) + d);
        }
    }

    private static double sumF64(MemorySegment s, long rowByte, int bound) {
        int step = DS.length(), i = 0;
        DoubleVector a0 = DoubleVector.zero(DS), a1 = a0, a2 = a0, a3 = a0;
        for (; i + 4 * step <= bound; i += 4 * step) {
            a0 = a0.add(loadD(s, rowByte, i));
            a1 = a1.add(loadD(s, rowByte, i + step));
            a2 = a2.add(loadD(s, rowByte, i + 2 * step));
            a3 = a3.add(loadD(s, rowByte, i + 3 * step));
        }
        for (; i < bound; i += step) a0 = a0.add(loadD(s, rowByte, i));
        return Lanes.sum(a0.add(a1).add(a2.add(a3)));
    }

    private static double squaredDeviationsF64(MemorySegment s, long rowByte, int bound, double mean) {
        int step = DS.length(), i = 0;
        DoubleVector m = DoubleVector.broadcast(DS, mean), a0 = DoubleVector.zero(DS), a1 = a0, a2 = a0, a3 = a0;
        for (; i + 4 * step <= bound; i += 4 * step) {
            DoubleVector d0 = loadD(s, rowByte, i).sub(m), d1 = loadD(s, rowByte, i + step).sub(m);
            DoubleVector d2 = loadD(s, rowByte, i + 2 * step).sub(m), d3 = loadD(s, rowByte, i + 3 * step).sub(m);
            a0 = d0.fma(d0, a0);
            a1 = d1.fma(d1, a1);
            a2 = d2.fma(d2, a2);
            a3 = d3.fma(d3, a3);
        }
        for (; i < bound; i += step) {
            DoubleVector d = loadD(s, rowByte, i).sub(m);
            a0 = d.fma(d, a0);
        }
        return Lanes.sum(a0.add(a1).add(a2.add(a3)));
    }

    private static DoubleVector loadD(MemorySegment s, long rowByte, int i) {
        return DoubleVector.fromMemorySegment(DS, typed(s), rowByte + (long) i * Double.BYTES, ORDER);
    }

    // ---- shared plumbing -----------------------------------------------------------------------------------

    /** A dense operand: its segment and its first element; an absent one (null view) has a null segment. */
    private record Operand(MemorySegment segment, long offset) {
        static Operand of(Function<View, MemorySegment> memory, View v) {
            return v == null ? new Operand(null, 0) : new Operand(memory.apply(v), v.offset());
        }

        boolean present() { return segment != null; }

        long byteOffset(int width) { return offset * width; }

        /** Byte offset of row r of a dense (rows, n) operand. */
        long rowByte(long r, int n, int width) { return (offset + r * n) * width; }
    }

    /** x seen as rows of {@code size} contiguous elements. */
    /** One row's means of {@code dy * w} and of {@code dy * w * xhat}, for the input gradient. */
    private record RowMeans(double g, double gXhat) {
        static final RowMeans NONE = new RowMeans(0, 0);
    }

    private record Rows(long count, int size) {
        static Rows of(View x, int normalizedDims) {
            long size = 1;
            for (int i = x.rank() - normalizedDims; i < x.rank(); i++) size *= x.shape()[i];
            return new Rows(size == 0 ? 0 : x.numel() / size, Math.toIntExact(size));
        }

        /** One chunk when the work is small, else up to {@code perThread} chunks per pool thread. */
        int chunks(int perThread) {
            if (count * size < PARALLEL_ELEMENTS) return 1;
            return (int) Math.min(count, (long) perThread * WorkerPool.shared().parallelism());
        }

        /** Runs {@code body} on consecutive ranges of rows, one per chunk, over the pool. */
        void split(int perThread, ChunkBody body) {
            int chunks = chunks(perThread);
            long per = Math.ceilDiv(count, chunks);
            WorkerPool.shared().run(chunks, c -> body.run(c, Math.min(count, c * per), Math.min(count, (c + 1) * per)));
        }
    }

    @FunctionalInterface
    private interface ChunkBody {
        void run(int chunk, long fromRow, long toRow);
    }

    /** A view, or a dense copy of it that is released on close. */
    private record Dense(Backend be, View view, boolean copied) implements AutoCloseable {
        static Dense of(Backend be, View v) {
            if (v == null || v.isContiguous()) return new Dense(be, v, false);
            View copy = be.allocateView(v.dtype(), v.shape());
            be.copy(v, copy);
            return new Dense(be, copy, true);
        }

        @Override
        public void close() {
            if (copied) be.release(view.buffer());
        }
    }
}
