package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.BlockLoops;
import dev.kiln.cpu.simd.FloatMath;
import dev.kiln.cpu.simd.HeapSlots;
import dev.kiln.cpu.simd.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.Function;
import java.util.function.IntConsumer;

import static dev.kiln.cpu.simd.NativeSegments.typed;

/**
 * The LSTM on float32 rows. {@link #sequence}: a whole direction with each step's products and cell in one kernel
 * (see {@link dev.kiln.backend.Backend#lstmSequence}); {@link #sequenceBackward} its backward the same way, on the same
 * register tiles (see {@link dev.kiln.backend.Backend#lstmSequenceBackward}). {@link #forward}: one cell in one pass (see
 * {@link dev.kiln.backend.Backend#lstmCell}): each vector of hidden units reads its four gate pre-activations from
 * the two (B, 4H) inputs, and writes the activations, the new cell, its tanh and the new hidden state, where the
 * composed cell makes about ten passes. The backward cell is one pass the same way. Rows are split over the pool
 * only when there are enough of them to pay for it.
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

    /** Rows of the sequence kernel's register tile: four rows of four gate vectors (two where 16 registers must do). */
    private static final int MR = S.vectorBitSize() >= 512 ? 4 : 2;
    /** Multiply-adds of one step's product from which the sequence kernels split their work over the pool (see {@link #splitRows}). */
    private static final long SEQUENCE_PARALLEL_MACS = 1L << 20;
    /** Each thread's array for {@link #sequence}'s pre-activations of one block of units. */
    private static final HeapSlots BLOCK_SUMS = new HeapSlots(1);
    /**
     * Each calling thread's array for the weights as the tiles read them, kept from call to call. Allocated anew, the
     * 2-layer LSTM of 256 units took 2 MiB per layer and call (1 MiB backward): objects that size are humongous to
     * G1, which answered them with a young collection about every second of the forward (3-5 ms each).
     */
    private static final HeapSlots LAID_OUT_WEIGHTS = new HeapSlots(1);

    /**
     * Batch rows from which {@link #sequence} takes the input weight into its tiles. Each step then reads the input
     * weight (laid out once, beside the recurrence weight) for that step's rows only; with few rows that is little work
     * per byte of weight, and one product over every step's input, which reads the weight once, does as well. The
     * 2-layer LSTM (64 steps, 256 inputs and units) forward on one Zen 4 core, projected first against in the tiles:
     * batch 1 5.5 against 7.0 ms, 2 6.6-8.9 against 7.2-8.6, 4 7.9-8.2 against 7.5, 8 15.0-17.7 against 13.6-16.2.
     */
    private static final int FUSED_INPUT_MIN_BATCH = 8;

    /**
     * Whether {@link #sequence} takes these operands: float32, whole vectors of hidden units, and dense rows (unit
     * stride along the last axis) in the (T, B, *) sequences and the (B, H) states; the weights and the bias (or null)
     * may have any strides. With an input weight, only from {@link #FUSED_INPUT_MIN_BATCH} rows.
     */
    public static boolean handlesSequence(View input, View inputWeightT, View recurrentT, View bias, View h0, View c0, View... outputs) {
        int h = recurrentT.shape()[0];
        return h > 0 && h % L == 0 && handles(h0, c0) && floats(recurrentT, inputWeightT, bias) && denseRows(input) && denseRows(outputs)
                && (inputWeightT == null || input.shape()[1] >= FUSED_INPUT_MIN_BATCH);
    }

    /** Whether each view, unless null, is float32. */
    private static boolean floats(View... views) {
        for (View v : views) if (v != null && v.dtype() != DType.FLOAT32) return false;
        return true;
    }

    /** Float32 (T, B, *) views with unit stride along the last axis. */
    private static boolean denseRows(View... sequences) {
        for (View v : sequences) if (v.dtype() != DType.FLOAT32 || v.rank() != 3 || v.strides()[2] != 1) return false;
        return true;
    }

    /**
     * A plain LSTM direction over a sequence (see {@link dev.kiln.backend.Backend#lstmSequence}). The recurrence
     * weight is laid out once, by blocks of L hidden units: for each block, row k holds the block's four gate
     * vectors [i | o | f | c~] side by side. A register tile of {@link #MR} batch rows times those four vectors then
     * has all four gates of its units when its product is done, and the cell runs on them at once, from L1: no (B, 4H)
     * product is written and read back, and no 12-row GEMM panel is padded to cover a batch of 32. The tile's
     * accumulators start from the bias, so adding it costs nothing. Given the input weight, the tiles take the input
     * projection too: each step's rows are [x_t | h], times the two weights laid out as one of I + H rows. That
     * product runs at the tiles' speed (103-114 GFLOP/s on one Zen 4 core, where the GEMM of every step's
     * input did 92-95), and no (T, B, 4H) projection is written and read back.
     *
     * <p>The batch's rows are independent sequences, so with at least {@link #ROWS_PER_THREAD} rows for each thread the
     * rows are split over the pool once, and each part runs every step on its own rows with no hand-off between
     * steps. Otherwise each step is one hand-off, the blocks of units split over the pool: then every step's hidden
     * state is written by both threads and read by both, its lines passing between cores, and a step waits for the
     * slower part. The row split reads the whole weight on every thread instead of its share of the units.
     */
    public static void sequence(Function<View, MemorySegment> memory, View input, View inputWeightT, View bias, View h0, View c0,
                                View recurrentT, boolean reverse, View gates, View cells, View tanhCells, View hidden) {
        int steps = input.shape()[0], batch = input.shape()[1], h = recurrentT.shape()[0], blocks = h / L;
        int in = inputWeightT == null ? 0 : inputWeightT.shape()[0], depth = in + h;
        if (steps == 0 || batch == 0) return;
        WorkerPool pool = WorkerPool.shared();
        boolean parallel = (long) batch * 4 * h * depth >= SEQUENCE_PARALLEL_MACS;
        int unitParts = parallel ? Math.min(blocks, 2 * pool.parallelism()) : 1;
        float[] weight = LAID_OUT_WEIGHTS.get(0, blocks * depth * 4 * L);
        MemorySegment wIn = in > 0 ? memory.apply(inputWeightT) : null, wRec = memory.apply(recurrentT);
        pool.run(unitParts, part -> {
            int from = blocks * part / unitParts, to = blocks * (part + 1) / unitParts;
            if (in > 0) blockWeight(weight, depth, 0, wIn, inputWeightT.offset(), inputWeightT.strides()[0], inputWeightT.strides()[1], in, from, to, L, h);
            blockWeight(weight, depth, in, wRec, recurrentT.offset(), recurrentT.strides()[0], recurrentT.strides()[1], h, from, to, L, h);
        });
        Sequence seq = new Sequence(memory, input, in, weight, blockBias(memory, bias, h), h0, c0, gates, cells, tanhCells, hidden, h, reverse);
        splitRows(batch, parallel, unitParts, seq::run);
    }

    /** Batch rows [from, to) through every step of a sequence kernel, each step's blocks of units split into parts over the pool. */
    private interface RowRun {
        void run(int from, int to, int parts);
    }

    /** Batch rows for each thread from which {@link #splitRows} splits the rows rather than each step's units: two tiles. */
    private static final int ROWS_PER_THREAD = 2 * MR;

    /**
     * Runs a sequence kernel over the batch, in parallel where its product is large enough: by rows over the pool
     * once, where every thread gets {@link #ROWS_PER_THREAD}, else by unitParts within each step.
     */
    private static void splitRows(int batch, boolean parallel, int unitParts, RowRun rows) {
        WorkerPool pool = WorkerPool.shared();
        int threads = pool.parallelism();
        if (parallel && threads > 1 && batch >= threads * ROWS_PER_THREAD) pool.run(threads, part -> rows.run(batch * part / threads, batch * (part + 1) / threads, 1));
        else rows.run(0, batch, unitParts);
    }

    /**
     * Whether {@link #sequenceBackward} takes these operands: as {@link #handlesSequence}, and whole blocks of 4L units
     * for the product's register tiles.
     */
    public static boolean handlesSequenceBackward(View recurrentT, View gradCell, View c0, View gradH0, View gradC0, View... sequences) {
        int h = recurrentT.shape()[0];
        return h > 0 && h % (4 * L) == 0 && floats(recurrentT) && handles(gradCell, c0, gradH0, gradC0) && denseRows(sequences);
    }

    /** The tiles' starting value where there is no bias: four zero vectors. */
    private static final float[] NO_BIAS = new float[4 * L];

    /**
     * The backward pass of {@link #sequence} (see {@link dev.kiln.backend.Backend#lstmSequenceBackward}). The product
     * dh = dGates @ r runs on the forward's register tiles, over r (4H, H) laid out once by blocks of 4L units. A
     * step is one hand-off: each part first finishes the last step's product for its blocks of units (every part
     * wrote its share of those gate gradients before the hand-off) and adds this step's output gradient to it, then
     * runs this step's cell on the same units, which needs no other part's dh. The gate gradients go to the output
     * and to one of two heap arrays in turn, which the next step's products read while this step's are written.
     * With enough rows, the rows are split over the pool instead, each part running every step (see {@link #splitRows}).
     */
    public static void sequenceBackward(Function<View, MemorySegment> memory, View gradOutput, View gradCell, View gates, View c0, View cells,
                                        View tanhCells, View recurrentT, boolean reverse, View gradGates, View gradH0, View gradC0) {
        int steps = gradOutput.shape()[0], batch = c0.shape()[0], h = c0.shape()[1], width = 4 * L, blocks = h / width;
        if (batch == 0) return;
        MemorySegment dOut = memory.apply(gradOutput), g = memory.apply(gates), cs0 = memory.apply(c0), cs = memory.apply(cells),
                tc = memory.apply(tanhCells), dg = memory.apply(gradGates), dh0 = memory.apply(gradH0), dc0 = memory.apply(gradC0),
                dcFinal = memory.apply(gradCell);
        long unitRow = (long) h * Float.BYTES, gate = (long) h * Float.BYTES;
        if (steps == 0) {
            for (int r = 0; r < batch; r++) {
                MemorySegment.copy(dcFinal, row(gradCell, r), dc0, row(gradC0, r), unitRow);
                dh0.asSlice(row(gradH0, r), unitRow).fill((byte) 0);
            }
            return;
        }
        WorkerPool pool = WorkerPool.shared();
        boolean parallel = (long) batch * 4 * h * h >= SEQUENCE_PARALLEL_MACS;
        int unitParts = parallel ? Math.min(blocks, 2 * pool.parallelism()) : 1;
        float[] weight = LAID_OUT_WEIGHTS.get(0, blocks * 4 * h * width);
        MemorySegment w = memory.apply(recurrentT);
        pool.run(unitParts, part -> blockWeight(weight, 4 * h, 0, w, recurrentT.offset(), recurrentT.strides()[1], recurrentT.strides()[0], 4 * h,
                blocks * part / unitParts, blocks * (part + 1) / unitParts, width, L));
        try (Arena arena = Arena.ofShared()) {
            // The hidden state's gradient for the cell (dy = output gradient + dh) and the cell's, (B, H) each.
            MemorySegment dy = arena.allocate(batch * unitRow, 64), dc = arena.allocate(batch * unitRow, 64);
            splitRows(batch, parallel, unitParts, (from, to, parts) -> {
                int n = to - from, rows = Math.ceilDiv(n, MR) * MR;
                // Each step's gate gradients for the next step's product, rows padded with zeros to whole tiles.
                float[][] dGates = {new float[rows * 4 * h], new float[rows * 4 * h]};
                for (int k = 0; k <= steps; k++) {
                    int kk = k, t = reverse ? k : steps - 1 - k, before = reverse ? t + 1 : t - 1;
                    pool.run(parts, part -> {
                        float[] acc = BLOCK_SUMS.get(0, rows * width);
                        for (int u = blocks * part / parts, end = blocks * (part + 1) / parts; u < end; u++) {
                            long unit = (long) u * width * Float.BYTES;
                            if (kk > 0) {
                                for (int r0 = 0; r0 < n; r0 += MR) tile(4 * h, dGates[(kk + 1) % 2], r0 * 4 * h, weight, u * 4 * h * width, NO_BIAS, 0, acc, r0 * width);
                                // dh goes to dy with this step's output gradient added, or after the first step to gradH0.
                                if (kk < steps) addRows(acc, n, dOut, at(gradOutput, t, from) + unit, rowBytes(gradOutput), dy, from * unitRow + unit, unitRow);
                                else addRows(acc, n, null, 0, 0, dh0, row(gradH0, from) + unit, rowBytes(gradH0));
                            }
                            if (kk == steps) {
                                for (int b = from; b < to; b++) MemorySegment.copy(dc, unit + b * unitRow, dc0, row(gradC0, b) + unit, width * Float.BYTES);
                                continue;
                            }
                            MemorySegment dhIn = kk == 0 ? dOut : dy, dcIn = kk == 0 ? dcFinal : dc, cPrev = kk == steps - 1 ? cs0 : cs;
                            long dhAt = kk == 0 ? at(gradOutput, t) : 0, dhRow = kk == 0 ? rowBytes(gradOutput) : unitRow;
                            long dcAt = kk == 0 ? row(gradCell, 0) : 0, dcRow = kk == 0 ? rowBytes(gradCell) : unitRow;
                            long cAt = kk == steps - 1 ? row(c0, 0) : at(cells, before), cRow = rowBytes(kk == steps - 1 ? c0 : cells);
                            float[] next = dGates[kk % 2];
                            for (int b = from; b < to; b++) {
                                long dgAt = at(gradGates, t, b) + unit;
                                backwardRow(dhIn, dhAt + b * dhRow + unit, dcIn, dcAt + b * dcRow + unit, g, at(gates, t, b) + unit,
                                        cPrev, cAt + b * cRow + unit, tc, at(tanhCells, t, b) + unit, dg, dgAt, dc, b * unitRow + unit, gate, width);
                                for (int q = 0; q < 4; q++) MemorySegment.copy(dg, F32, dgAt + q * gate, next, (b - from) * 4 * h + q * h + u * width, width);
                            }
                        }
                    });
                }
            });
        }
    }

    /**
     * Stores the tiles' block of 4L columns in acc (row-major, rows 4L apart) plus, unless {@code add} is null, the
     * same block of add's rows, to rows of out.
     */
    private static void addRows(float[] acc, int batch, MemorySegment add, long addAt, long addRow, MemorySegment out, long outAt, long outRow) {
        out = typed(out);
        for (int r = 0; r < batch; r++) {
            for (int q = 0; q < 4; q++) {
                FloatVector v = FloatVector.fromArray(S, acc, (r * 4 + q) * L);
                if (add != null) v = v.add(ld(add, addAt + r * addRow + q * L * Float.BYTES));
                v.intoMemorySegment(out, outAt + r * outRow + q * L * Float.BYTES, ORDER);
            }
        }
    }

    /** The byte offset of step t's first row in a (T, B, *) view. */
    private static long at(View v, int t) { return (v.offset() + t * v.strides()[0]) * Float.BYTES; }

    /** The byte offset of step t's row r in a (T, B, *) view. */
    private static long at(View v, int t, int r) { return at(v, t) + r * rowBytes(v); }

    /** Bytes between rows of a (B, *) view or of each step of a (T, B, *) one. */
    private static long rowBytes(View v) { return v.strides()[v.rank() - 2] * Float.BYTES; }

    /** One {@link #sequence} call: its operands, their memory, and the weights laid out for the tiles. */
    private static final class Sequence {
        private final View input, h0, c0, gates, cells, tanhCells, hidden;
        /** The input, and the same or null (where the tiles take the input) for the cell to add. */
        private final MemorySegment x, projected, hs0, cs0, g, c, tc, hOut;
        private final float[] weight, bias;
        private final int in, h, depth, blocks, steps;
        private final boolean reverse;

        Sequence(Function<View, MemorySegment> memory, View input, int in, float[] weight, float[] bias, View h0, View c0, View gates,
                 View cells, View tanhCells, View hidden, int h, boolean reverse) {
            this.input = input;
            this.h0 = h0;
            this.c0 = c0;
            this.gates = gates;
            this.cells = cells;
            this.tanhCells = tanhCells;
            this.hidden = hidden;
            x = memory.apply(input);
            projected = in > 0 ? null : x;
            hs0 = memory.apply(h0);
            cs0 = memory.apply(c0);
            g = memory.apply(gates);
            c = memory.apply(cells);
            tc = memory.apply(tanhCells);
            hOut = memory.apply(hidden);
            this.weight = weight;
            this.bias = bias;
            this.in = in;
            this.h = h;
            depth = in + h;
            blocks = h / L;
            steps = input.shape()[0];
            this.reverse = reverse;
        }

        /**
         * Batch rows [from, to) through every step, each step's blocks of units split into parts over the pool. Each
         * row's [x_t | previous hidden state], rows padded with zeros to whole tiles, is in one of two arrays: the tiles
         * read one while the parts fill the other for the next step (each its own units' new hidden state and a share
         * of x's rows), so no thread copies them alone between steps.
         */
        void run(int from, int to, int parts) {
            int n = to - from, rows = Math.ceilDiv(n, MR) * MR;
            float[][] stepRows = {new float[rows * depth], new float[rows * depth]};
            for (int r = 0; r < n; r++) MemorySegment.copy(hs0, F32, row(h0, from + r), stepRows[0], r * depth + in, h);
            copyInputRows(reverse ? steps - 1 : 0, from, 0, n, stepRows[0]);
            WorkerPool pool = WorkerPool.shared();
            for (int k = 0; k < steps; k++) {
                int kk = k, t = reverse ? steps - 1 - k : k, before = reverse ? t + 1 : t - 1, next = reverse ? t - 1 : t + 1;
                // The previous cell state: c0 at the first step, else the entries the last step wrote.
                MemorySegment cp = k == 0 ? cs0 : c;
                long cpRow = rowBytes(k == 0 ? c0 : cells), cpAt = (k == 0 ? row(c0, 0) : at(cells, before)) + from * cpRow;
                float[] now = stepRows[k % 2], later = stepRows[(k + 1) % 2];
                pool.run(parts, part -> {
                    float[] acc = BLOCK_SUMS.get(0, rows * 4 * L);
                    for (int u = blocks * part / parts, end = blocks * (part + 1) / parts; u < end; u++) {
                        for (int r0 = 0; r0 < n; r0 += MR) tile(depth, now, r0 * depth, weight, u * depth * 4 * L, bias, u * 4 * L, acc, r0 * 4 * L);
                        cell(t, u, from, n, acc, cp, cpAt, cpRow);
                        for (int r = 0; kk + 1 < steps && r < n; r++)
                            MemorySegment.copy(hOut, F32, at(hidden, t, from + r) + (long) u * L * Float.BYTES, later, r * depth + in + u * L, L);
                    }
                    if (kk + 1 < steps) copyInputRows(next, from, n * part / parts, n * (part + 1) / parts, later);
                });
            }
        }

        /** Rows from + [r0, r1) of step t's input (I wide; none where the input is not in the tiles) to rows [r0, r1) of dst. */
        private void copyInputRows(int t, int from, int r0, int r1, float[] dst) {
            for (int r = r0; in > 0 && r < r1; r++) MemorySegment.copy(x, F32, at(input, t, from + r), dst, r * depth, in);
        }

        /** The cell of step t for hidden-unit block u, batch rows [from, from + n), from the block's pre-activations in acc. */
        private void cell(int t, int u, int from, int n, float[] acc, MemorySegment cp, long cpAt, long cpRow) {
            long unit = (long) u * L * Float.BYTES, gate = (long) h * Float.BYTES, gb = at(gates, t, from) + unit;
            activateBlock(acc, n, projected, at(input, t, from) + unit, rowBytes(input), g, gb, rowBytes(gates), gate);
            updateBlock(n, g, gb, rowBytes(gates), gate, cp, cpAt + unit, cpRow, c, at(cells, t, from) + unit, rowBytes(cells),
                    tc, at(tanhCells, t, from) + unit, rowBytes(tanhCells), hOut, at(hidden, t, from) + unit, rowBytes(hidden));
        }
    }

    /**
     * Blocks [fromBlock, toBlock) of a K-row matrix (element (k, col) at {@code base + k * rowStride + col * colStride})
     * laid out for {@link #tile} by blocks of four vectors: row k of block u holds the L columns from {@code u * blockStride + q * vectorStride}
     * for q = 0..3, element (k, u * blockStride + q * vectorStride + j) at ((u * K + k) * 4 + q) * L + j. The forward
     * takes rT (H, 4H) with the four gates of L units in a block (blockStride L, vectorStride H); the backward takes
     * its transpose (4H, H) with 4L consecutive units (blockStride 4L, vectorStride L). The rows go to rows
     * {@code first ..} of a layout of {@code depth} rows in {@code out}, so two matrices can be stacked.
     */
    private static void blockWeight(float[] out, int depth, int first, MemorySegment w, long base, long rowStride, long colStride, int rows,
                                    int fromBlock, int toBlock, int blockStride, int vectorStride) {
        for (int u = fromBlock; u < toBlock; u++) {
            for (int q = 0; q < 4; q++) {
                long col = u * blockStride + q * vectorStride;
                if (colStride == 1) {
                    for (int k = 0; k < rows; k++) {
                        FloatVector.fromMemorySegment(S, typed(w), (base + k * rowStride + col) * Float.BYTES, ORDER)
                                .intoArray(out, ((u * depth + first + k) * 4 + q) * L);
                    }
                } else {
                    // Down each column in turn: along the rows, which are the source's dense axis here.
                    for (int j = 0; j < L; j++) {
                        for (int k = 0; k < rows; k++)
                            out[((u * depth + first + k) * 4 + q) * L + j] = w.getAtIndex(F32, base + k * rowStride + (col + j) * colStride);
                    }
                }
            }
        }
    }

    /** The bias (4H, any stride; zeros if null) by blocks of L hidden units, as {@link #blockWeight}'s row: (q * H + u * L + j) at (u * 4 + q) * L + j. */
    private static float[] blockBias(Function<View, MemorySegment> memory, View bias, int h) {
        float[] out = new float[4 * h];
        if (bias == null) return out;
        MemorySegment b = memory.apply(bias);
        for (int i = 0; i < 4 * h; i++) {
            int q = i / h, u = i % h / L, j = i % L;
            out[(u * 4 + q) * L + j] = b.getAtIndex(F32, bias.offset() + i * bias.strides()[0]);
        }
        return out;
    }

    /**
     * Rows r0 .. r0 + MR of one block's pre-activations: the block's bias (four vectors from biasAt) plus hidden rows (H
     * each, from hRow in hp) times the block's weight (H rows of four vectors from w0), stored as MR rows of
     * [i | o | f | c~] at acc[at].
     */
    private static void tile(int h, float[] hp, int hRow, float[] w, int w0, float[] bias, int biasAt, float[] acc, int at) {
        FloatVector bi = FloatVector.fromArray(S, bias, biasAt), bo = FloatVector.fromArray(S, bias, biasAt + L),
                bf = FloatVector.fromArray(S, bias, biasAt + 2 * L), bc = FloatVector.fromArray(S, bias, biasAt + 3 * L);
        FloatVector a0 = bi, a1 = bo, a2 = bf, a3 = bc, b0 = bi, b1 = bo, b2 = bf, b3 = bc;
        FloatVector c0 = bi, c1 = bo, c2 = bf, c3 = bc, d0 = bi, d1 = bo, d2 = bf, d3 = bc;
        for (int k = 0; k < h; k++) {
            int wi = w0 + k * 4 * L;
            FloatVector wi0 = FloatVector.fromArray(S, w, wi), wi1 = FloatVector.fromArray(S, w, wi + L),
                    wi2 = FloatVector.fromArray(S, w, wi + 2 * L), wi3 = FloatVector.fromArray(S, w, wi + 3 * L);
            FloatVector v = FloatVector.broadcast(S, hp[hRow + k]);
            a0 = v.fma(wi0, a0); a1 = v.fma(wi1, a1); a2 = v.fma(wi2, a2); a3 = v.fma(wi3, a3);
            v = FloatVector.broadcast(S, hp[hRow + h + k]);
            b0 = v.fma(wi0, b0); b1 = v.fma(wi1, b1); b2 = v.fma(wi2, b2); b3 = v.fma(wi3, b3);
            if (MR == 4) {
                v = FloatVector.broadcast(S, hp[hRow + 2 * h + k]);
                c0 = v.fma(wi0, c0); c1 = v.fma(wi1, c1); c2 = v.fma(wi2, c2); c3 = v.fma(wi3, c3);
                v = FloatVector.broadcast(S, hp[hRow + 3 * h + k]);
                d0 = v.fma(wi0, d0); d1 = v.fma(wi1, d1); d2 = v.fma(wi2, d2); d3 = v.fma(wi3, d3);
            }
        }
        a0.intoArray(acc, at); a1.intoArray(acc, at + L); a2.intoArray(acc, at + 2 * L); a3.intoArray(acc, at + 3 * L);
        b0.intoArray(acc, at + 4 * L); b1.intoArray(acc, at + 5 * L); b2.intoArray(acc, at + 6 * L); b3.intoArray(acc, at + 7 * L);
        if (MR == 4) {
            c0.intoArray(acc, at + 8 * L); c1.intoArray(acc, at + 9 * L); c2.intoArray(acc, at + 10 * L); c3.intoArray(acc, at + 11 * L);
            d0.intoArray(acc, at + 12 * L); d1.intoArray(acc, at + 13 * L); d2.intoArray(acc, at + 14 * L); d3.intoArray(acc, at + 15 * L);
        }
    }

    /**
     * One block's gates for every row: sigmoid of its pre-activations in acc plus the projected input x (unless null:
     * the tiles took it) for i, o and f, then tanh for c~, to g. One method per activation: with both in one loop C2 left the sigmoid uninlined and boxed its
     * vectors (the Vector API's Java fallbacks were a fifth of a profile), and with both loops in one method the tanh
     * went past {@code NodeCountInliningCutoff} the same way.
     */
    private static void activateBlock(float[] acc, int batch, MemorySegment x, long xb, long xRow, MemorySegment g, long gb, long gRow, long gate) {
        sigmoidGates(acc, batch, x, xb, xRow, g, gb, gRow, gate);
        tanhCandidates(acc, batch, x, xb + 3 * gate, xRow, g, gb + 3 * gate, gRow);
    }

    /** Gates i, o and f of one block: the first three of each row's four vectors in acc. */
    private static void sigmoidGates(float[] acc, int batch, MemorySegment x, long xb, long xRow, MemorySegment g, long gb, long gRow, long gate) {
        for (int r = 0; r < batch; r++) {
            for (int q = 0; q < 3; q++) {
                FloatVector sum = FloatVector.fromArray(S, acc, (r * 4 + q) * L);
                if (x != null) sum = sum.add(ld(x, xb + r * xRow + q * gate));
                FloatMath.sigmoid(sum).intoMemorySegment(typed(g), gb + r * gRow + q * gate, ORDER);
            }
        }
    }

    /** The candidate c~ of one block: the last of each row's four vectors in acc; x and g at the candidates' column. */
    private static void tanhCandidates(float[] acc, int batch, MemorySegment x, long xb, long xRow, MemorySegment g, long gb, long gRow) {
        for (int r = 0; r < batch; r++) {
            FloatVector sum = FloatVector.fromArray(S, acc, (r * 4 + 3) * L);
            if (x != null) sum = sum.add(ld(x, xb + r * xRow));
            FloatMath.tanh(sum).intoMemorySegment(typed(g), gb + r * gRow, ORDER);
        }
    }

    /** One block's state update for every row ({@link #updateRow} over its L units). */
    private static void updateBlock(int batch, MemorySegment g, long gb, long gRow, long gate, MemorySegment c, long cb, long cRow,
                                    MemorySegment cOut, long cOutB, long cOutRow, MemorySegment tc, long tcb, long tcRow,
                                    MemorySegment hOut, long hOutB, long hOutRow) {
        for (int r = 0; r < batch; r++)
            updateRow(c, cb + r * cRow, g, gb + r * gRow, gate, cOut, cOutB + r * cOutRow, tc, tcb + r * tcRow, hOut, hOutB + r * hOutRow, L);
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
        updateRow(c, cb, g, gb, gate, cOut, cOutB, tc, tcb, hOut, hOutB, h);
    }

    /**
     * c' = f c + i cand, tanh c', h' = o tanh c' over n units, from the activated gates [i | o | f | cand], each
     * {@code gate} bytes after the last.
     */
    private static void updateRow(MemorySegment c, long cb, MemorySegment g, long gb, long gate, MemorySegment cOut, long cOutB,
                                  MemorySegment tc, long tcb, MemorySegment hOut, long hOutB, int n) {
        cOut = typed(cOut);
        tc = typed(tc);
        hOut = typed(hOut);
        int j = 0;
        for (; j <= n - L; j += L) {
            long q = (long) j * Float.BYTES;
            FloatVector i = ld(g, gb + q), o = ld(g, gb + gate + q), f = ld(g, gb + 2 * gate + q), cand = ld(g, gb + 3 * gate + q);
            FloatVector cNew = f.fma(ld(c, cb + q), i.mul(cand)), t = FloatMath.tanh(cNew);
            cNew.intoMemorySegment(cOut, cOutB + q, ORDER);
            t.intoMemorySegment(tc, tcb + q, ORDER);
            o.mul(t).intoMemorySegment(hOut, hOutB + q, ORDER);
        }
        for (; j < n; j++) {
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
                dg, row(gradGates, b), dcOut, row(gradCellIn, b), (long) h * Float.BYTES, h));
    }

    /**
     * The backward cell over n units of a row, written like {@link #forwardRow}; the four gates of each unit are
     * {@code gate} bytes apart in g and dg. dcIn and dcOut may be the same memory.
     */
    private static void backwardRow(MemorySegment dh, long dhb, MemorySegment dcIn, long dcInB, MemorySegment g, long gb, MemorySegment c, long cb,
                                    MemorySegment tc, long tcb, MemorySegment dg, long dgb, MemorySegment dcOut, long dcOutB, long gate, int n) {
        dg = typed(dg);
        dcOut = typed(dcOut);
        int j = 0;
        for (; j <= n - L; j += L) {
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
        for (; j < n; j++) {
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

    private static FloatVector ld(MemorySegment s, long at) { return FloatVector.fromMemorySegment(S, typed(s), at, ORDER); }

    private static float get(MemorySegment s, long at) { return s.get(F32, at); }

}
