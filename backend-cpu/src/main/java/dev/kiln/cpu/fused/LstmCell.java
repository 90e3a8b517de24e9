package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.Function;

/**
 * The LSTM cell in one pass over float32 rows (see {@link dev.kiln.backend.Backend#lstmCell}): each vector of
 * hidden units reads its four gate pre-activations from the two (B, 4H) inputs, and writes the activations, the
 * new cell, its tanh and the new hidden state, where the composed cell makes about ten passes. The backward pass
 * is one pass the same way. Rows are split over the pool only when there are enough of them to pay for it.
 */
public final class LstmCell {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final FloatVector ONE = FloatVector.broadcast(S, 1);
    /** Hidden units below which one thread does every row (the usual recurrent batch is far below). */
    private static final long PARALLEL_ELEMENTS = 1L << 17;

    private LstmCell() {}

    /** Float32 views whose rows are dense (unit stride along the hidden units). */
    public static boolean handles(View... views) {
        for (View v : views) if (v.dtype() != DType.FLOAT32 || v.rank() != 2 || (v.shape()[1] > 1 && v.strides()[1] != 1)) return false;
        return true;
    }

    public static void forward(Function<View, MemorySegment> memory, View input, View recurrent, View cell, View gates, View cellOut,
                               View tanhCell, View hiddenOut) {
        Rows x = new Rows(memory, input), r = new Rows(memory, recurrent), c = new Rows(memory, cell), g = new Rows(memory, gates),
                cOut = new Rows(memory, cellOut), tc = new Rows(memory, tanhCell), hOut = new Rows(memory, hiddenOut);
        int h = cell.shape()[1];
        units(cell, (b, j) -> {
            FloatVector i = sigmoid(x.load(b, j).add(r.load(b, j)));
            FloatVector o = sigmoid(x.load(b, h + j).add(r.load(b, h + j)));
            FloatVector f = sigmoid(x.load(b, 2 * h + j).add(r.load(b, 2 * h + j)));
            FloatVector cand = x.load(b, 3 * h + j).add(r.load(b, 3 * h + j)).lanewise(VectorOperators.TANH);
            FloatVector cNew = f.fma(c.load(b, j), i.mul(cand)), t = cNew.lanewise(VectorOperators.TANH);
            g.store(i, b, j);
            g.store(o, b, h + j);
            g.store(f, b, 2 * h + j);
            g.store(cand, b, 3 * h + j);
            cOut.store(cNew, b, j);
            tc.store(t, b, j);
            hOut.store(o.mul(t), b, j);
        }, (b, j) -> {
            float i = sigmoid(x.get(b, j) + r.get(b, j)), o = sigmoid(x.get(b, h + j) + r.get(b, h + j));
            float f = sigmoid(x.get(b, 2 * h + j) + r.get(b, 2 * h + j));
            float cand = (float) Math.tanh(x.get(b, 3 * h + j) + r.get(b, 3 * h + j));
            float cNew = f * c.get(b, j) + i * cand, t = (float) Math.tanh(cNew);
            g.set(i, b, j);
            g.set(o, b, h + j);
            g.set(f, b, 2 * h + j);
            g.set(cand, b, 3 * h + j);
            cOut.set(cNew, b, j);
            tc.set(t, b, j);
            hOut.set(o * t, b, j);
        });
    }

    public static void backward(Function<View, MemorySegment> memory, View gradHidden, View gradCell, View gates, View cell, View tanhCell,
                                View gradGates, View gradCellIn) {
        Rows dh = new Rows(memory, gradHidden), dcIn = new Rows(memory, gradCell), g = new Rows(memory, gates), c = new Rows(memory, cell),
                tc = new Rows(memory, tanhCell), dg = new Rows(memory, gradGates), dcOut = new Rows(memory, gradCellIn);
        int h = cell.shape()[1];
        units(cell, (b, j) -> {
            FloatVector i = g.load(b, j), o = g.load(b, h + j), f = g.load(b, 2 * h + j), cand = g.load(b, 3 * h + j);
            FloatVector t = tc.load(b, j), dhv = dh.load(b, j);
            FloatVector dc = dhv.mul(o).mul(ONE.sub(t.mul(t))).add(dcIn.load(b, j));
            dg.store(dc.mul(cand).mul(i.mul(ONE.sub(i))), b, j);
            dg.store(dhv.mul(t).mul(o.mul(ONE.sub(o))), b, h + j);
            dg.store(dc.mul(c.load(b, j)).mul(f.mul(ONE.sub(f))), b, 2 * h + j);
            dg.store(dc.mul(i).mul(ONE.sub(cand.mul(cand))), b, 3 * h + j);
            dcOut.store(dc.mul(f), b, j);
        }, (b, j) -> {
            float i = g.get(b, j), o = g.get(b, h + j), f = g.get(b, 2 * h + j), cand = g.get(b, 3 * h + j);
            float t = tc.get(b, j), dhv = dh.get(b, j);
            float dc = dhv * o * (1 - t * t) + dcIn.get(b, j);
            dg.set(dc * cand * (i * (1 - i)), b, j);
            dg.set(dhv * t * (o * (1 - o)), b, h + j);
            dg.set(dc * c.get(b, j) * (f * (1 - f)), b, 2 * h + j);
            dg.set(dc * i * (1 - cand * cand), b, 3 * h + j);
            dcOut.set(dc * f, b, j);
        });
    }

    /** What the cell does at row b from hidden unit j: a vector's worth of units, or one. */
    private interface Units {
        void at(int b, int j);
    }

    /** Runs {@code vector} over whole vectors of each row's hidden units and {@code scalar} over the rest. */
    private static void units(View cell, Units vector, Units scalar) {
        int batch = cell.shape()[0], h = cell.shape()[1];
        int tasks = cell.numel() < PARALLEL_ELEMENTS ? 1 : Math.min(batch, 2 * WorkerPool.shared().parallelism());
        int per = Math.ceilDiv(batch, tasks);
        WorkerPool.shared().run(tasks, t -> {
            for (int b = t * per, end = Math.min(batch, b + per); b < end; b++) {
                int j = 0;
                for (; j <= h - L; j += L) vector.at(b, j);
                for (; j < h; j++) scalar.at(b, j);
            }
        });
    }

    /** The sigmoid as the backend's unary kernel computes it, {@code 1 / (1 + exp(-x))}. */
    private static FloatVector sigmoid(FloatVector x) { return ONE.div(x.neg().lanewise(VectorOperators.EXP).add(1)); }

    private static float sigmoid(float x) { return (float) (1 / (1 + Math.exp(-x))); }

    /** A 2-D view's rows over its segment, by element: row b, column j. */
    private record Rows(MemorySegment seg, long offset, long rowStride) {
        Rows(Function<View, MemorySegment> memory, View v) {
            this(memory.apply(v), v.offset(), v.strides()[0]);
        }

        FloatVector load(int b, int j) { return FloatVector.fromMemorySegment(S, seg, (offset + b * rowStride + j) * Float.BYTES, ORDER); }

        void store(FloatVector v, int b, int j) { v.intoMemorySegment(seg, (offset + b * rowStride + j) * Float.BYTES, ORDER); }

        float get(int b, int j) { return seg.getAtIndex(F32, offset + b * rowStride + j); }

        void set(float v, int b, int j) { seg.setAtIndex(F32, offset + b * rowStride + j, v); }
    }
}
