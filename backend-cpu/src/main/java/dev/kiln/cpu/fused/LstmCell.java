package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.BlockLoops;
import dev.kiln.cpu.simd.FloatMath;
import dev.kiln.cpu.simd.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.Function;
import java.util.function.IntConsumer;

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
    /**
     * Hidden units from which rows are split over the pool. Between the time step's two GEMMs the workers are still
     * spinning, so a batch of 32 x 256 pays to split: the 2-layer LSTM step's cells took 8.5 ms on one thread and
     * 4.6 ms split (forward; backward 5.7 and 3.5), and the step 107 against 87 ms.
     */
    private static final long PARALLEL_ELEMENTS = 1L << 13;

    private LstmCell() {}

    /** Float32 views whose rows are dense (unit stride along the hidden units). */
    public static boolean handles(View... views) {
        for (View v : views) if (v.dtype() != DType.FLOAT32 || v.rank() != 2 || (v.shape()[1] > 1 && v.strides()[1] != 1)) return false;
        return true;
    }

    public static void forward(Function<View, MemorySegment> memory, View input, View recurrent, View cell, View gates, View cellOut,
                               View tanhCell, View hiddenOut) {
        MemorySegment x = memory.apply(input), r = memory.apply(recurrent), c = memory.apply(cell), g = memory.apply(gates),
                cOut = memory.apply(cellOut), tc = memory.apply(tanhCell), hOut = memory.apply(hiddenOut);
        int h = cell.shape()[1];
        rows(cell, b -> forwardRow(x, row(input, b), r, row(recurrent, b), c, row(cell, b), g, row(gates, b), cOut, row(cellOut, b),
                tc, row(tanhCell, b), hOut, row(hiddenOut, b), h));
    }

    /**
     * One row of the forward cell, in passes over the row (a few KB, in L1): the sigmoid gates i, o, f, which lie side
     * by side, and the tanh candidate, each through the backend's own loops, then the state update. The loops sit in
     * methods over plain segments and byte offsets: written as calls on small row objects, or as one loop with all
     * five activations, C2 stopped inlining partway through the body (NodeCountInliningCutoff) and boxed vectors
     * every iteration.
     */
    private static void forwardRow(MemorySegment x, long xb, MemorySegment r, long rb, MemorySegment c, long cb, MemorySegment g, long gb,
                                   MemorySegment cOut, long cOutB, MemorySegment tc, long tcb, MemorySegment hOut, long hOutB, int h) {
        long gate = (long) h * Float.BYTES;
        activateSum(UnaryOp.SIGMOID, x, xb, r, rb, g, gb, 3 * h);
        activateSum(UnaryOp.TANH, x, xb + 3 * gate, r, rb + 3 * gate, g, gb + 3 * gate, h);
        updateRow(c, cb, g, gb, cOut, cOutB, tc, tcb, hOut, hOutB, h);
    }

    /** c' = f c + i cand, tanh c', h' = o tanh c', from the activated gates [i | o | f | cand]. */
    private static void updateRow(MemorySegment c, long cb, MemorySegment g, long gb, MemorySegment cOut, long cOutB,
                                  MemorySegment tc, long tcb, MemorySegment hOut, long hOutB, int h) {
        long gate = (long) h * Float.BYTES;
        int j = 0;
        for (; j <= h - L; j += L) {
            long q = (long) j * Float.BYTES;
            FloatVector i = ld(g, gb + q), o = ld(g, gb + gate + q), f = ld(g, gb + 2 * gate + q), cand = ld(g, gb + 3 * gate + q);
            FloatVector cNew = f.fma(ld(c, cb + q), i.mul(cand)), t = FloatMath.tanh(cNew);
            cNew.intoMemorySegment(cOut, cOutB + q, ORDER);
            t.intoMemorySegment(tc, tcb + q, ORDER);
            o.mul(t).intoMemorySegment(hOut, hOutB + q, ORDER);
        }
        for (; j < h; j++) {
            long q = (long) j * Float.BYTES;
            float i = get(g, gb + q), o = get(g, gb + gate + q), f = get(g, gb + 2 * gate + q), cand = get(g, gb + 3 * gate + q);
            float cNew = f * get(c, cb + q) + i * cand, t = (float) Math.tanh(cNew);
            cOut.set(F32, cOutB + q, cNew);
            tc.set(F32, tcb + q, t);
            hOut.set(F32, hOutB + q, o * t);
        }
    }

    /** out = f(x + r) over n elements, by the backend's own add and unary loops, in two passes over the row. */
    private static void activateSum(UnaryOp f, MemorySegment x, long xb, MemorySegment r, long rb, MemorySegment out, long ob, int n) {
        BlockLoops.binary(DType.FLOAT32, BinaryOp.ADD, x, xb, r, rb, out, ob, n);
        BlockLoops.unary(DType.FLOAT32, f, 0, out, ob, out, ob, n);
    }

    public static void backward(Function<View, MemorySegment> memory, View gradHidden, View gradCell, View gates, View cell, View tanhCell,
                                View gradGates, View gradCellIn) {
        MemorySegment dh = memory.apply(gradHidden), dcIn = memory.apply(gradCell), g = memory.apply(gates), c = memory.apply(cell),
                tc = memory.apply(tanhCell), dg = memory.apply(gradGates), dcOut = memory.apply(gradCellIn);
        int h = cell.shape()[1];
        rows(cell, b -> backwardRow(dh, row(gradHidden, b), dcIn, row(gradCell, b), g, row(gates, b), c, row(cell, b), tc, row(tanhCell, b),
                dg, row(gradGates, b), dcOut, row(gradCellIn, b), h));
    }

    /** One row of the backward cell, written like {@link #forwardRow}. */
    private static void backwardRow(MemorySegment dh, long dhb, MemorySegment dcIn, long dcInB, MemorySegment g, long gb, MemorySegment c, long cb,
                                    MemorySegment tc, long tcb, MemorySegment dg, long dgb, MemorySegment dcOut, long dcOutB, int h) {
        long gate = (long) h * Float.BYTES;
        int j = 0;
        for (; j <= h - L; j += L) {
            long q = (long) j * Float.BYTES;
            FloatVector i = ld(g, gb + q), o = ld(g, gb + gate + q), f = ld(g, gb + 2 * gate + q), cand = ld(g, gb + 3 * gate + q);
            FloatVector t = ld(tc, tcb + q), dhv = ld(dh, dhb + q);
            FloatVector dc = dhv.mul(o).mul(ONE.sub(t.mul(t))).add(ld(dcIn, dcInB + q));
            dc.mul(cand).mul(i.mul(ONE.sub(i))).intoMemorySegment(dg, dgb + q, ORDER);
            dhv.mul(t).mul(o.mul(ONE.sub(o))).intoMemorySegment(dg, dgb + gate + q, ORDER);
            dc.mul(ld(c, cb + q)).mul(f.mul(ONE.sub(f))).intoMemorySegment(dg, dgb + 2 * gate + q, ORDER);
            dc.mul(i).mul(ONE.sub(cand.mul(cand))).intoMemorySegment(dg, dgb + 3 * gate + q, ORDER);
            dc.mul(f).intoMemorySegment(dcOut, dcOutB + q, ORDER);
        }
        for (; j < h; j++) {
            long q = (long) j * Float.BYTES;
            float i = get(g, gb + q), o = get(g, gb + gate + q), f = get(g, gb + 2 * gate + q), cand = get(g, gb + 3 * gate + q);
            float t = get(tc, tcb + q), dhv = get(dh, dhb + q);
            float dc = dhv * o * (1 - t * t) + get(dcIn, dcInB + q);
            dg.set(F32, dgb + q, dc * cand * (i * (1 - i)));
            dg.set(F32, dgb + gate + q, dhv * t * (o * (1 - o)));
            dg.set(F32, dgb + 2 * gate + q, dc * get(c, cb + q) * (f * (1 - f)));
            dg.set(F32, dgb + 3 * gate + q, dc * i * (1 - cand * cand));
            dcOut.set(F32, dcOutB + q, dc * f);
        }
    }

    /** Runs {@code row} for every row of the batch, split over the pool only when there are enough hidden units. */
    private static void rows(View cell, IntConsumer row) {
        int batch = cell.shape()[0];
        int tasks = cell.numel() < PARALLEL_ELEMENTS ? 1 : Math.min(batch, 2 * WorkerPool.shared().parallelism());
        int per = Math.ceilDiv(batch, tasks);
        WorkerPool.shared().run(tasks, t -> {
            for (int b = t * per, end = Math.min(batch, b + per); b < end; b++) row.accept(b);
        });
    }

    /** The byte offset of row b of a 2-D float32 view. */
    private static long row(View v, int b) { return (v.offset() + b * v.strides()[0]) * Float.BYTES; }

    private static FloatVector ld(MemorySegment s, long at) { return FloatVector.fromMemorySegment(S, s, at, ORDER); }

    private static float get(MemorySegment s, long at) { return s.get(F32, at); }

}
