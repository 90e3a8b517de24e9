package dev.kiln.cpu;

import dev.kiln.DType;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.FusedProgram;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.BlockLoops;
import dev.kiln.cpu.simd.WorkerPool;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static dev.kiln.cpu.Strided.getD;
import static dev.kiln.cpu.Strided.seg;
import static dev.kiln.cpu.Strided.setD;

/**
 * A {@link FusedProgram} interpreted over blocks of {@value #BLOCK} elements: each instruction runs the backend's
 * vector loop over the block's register (a slice of per-thread scratch small enough to stay in L1/L2), so a program
 * reads each input and writes each output once, where the ops one by one would stream every intermediate through
 * memory. Dense inputs of the compute dtype are read in place; broadcast, strided and bool inputs are gathered into
 * their register run by run. Large iteration spaces are split over the worker pool by blocks (or, under a reduction,
 * by rows).
 */
final class FusedKernel {
    private FusedKernel() {}

    /** Elements per block: 16 slots of float64 fit in 128 KiB. */
    private static final int BLOCK = 1024;
    /** Below this many elements the calling thread runs the whole program: the unfused vector kernels' threshold. */
    private static final long PARALLEL_ELEMENTS = 1L << 17;

    private static final ThreadLocal<MemorySegment[]> SCRATCH = ThreadLocal.withInitial(() -> new MemorySegment[1]);

    static void run(FusedProgram p, double[] scalars, View[] in, View[] out) {
        DType t = p.check(scalars, in, out);
        int[] shape = in[0].shape();
        long n = View.numel(shape);
        boolean[] truth = p.truthRegisters(boolInputs(in));
        Plan plan = new Plan(p, scalars, in, out, t, shape, truth);
        if (p.reduction() == null) {
            if (n == 0) return;
            long blocks = (n + BLOCK - 1) / BLOCK;
            split(blocks, n, (from, to) -> plan.elementwise(from * BLOCK, Math.min(n, to * BLOCK)));
        } else {
            int row = shape[shape.length - 1];
            long rows = row == 0 ? View.numel(out[0].shape()) : n / row;
            split(rows, n, (from, to) -> plan.reduce(from, to, row));
        }
    }

    /**
     * Several sets of operands of one elementwise program as one iteration space: the blocks of all the sets in
     * order, split over the pool in one hand-off. An optimizer's small parameters (a bias, a norm's weight) each
     * ran on the calling thread, below the threshold for splitting, and the large ones paid a hand-off each.
     */
    static void runEach(FusedProgram p, List<double[]> scalars, List<View[]> in, List<View[]> out) {
        int sets = in.size();
        if (p.reduction() != null) {
            for (int i = 0; i < sets; i++) run(p, scalars.get(i), in.get(i), out.get(i));
            return;
        }
        Plan[] plans = new Plan[sets];
        long[] firstBlock = new long[sets + 1], size = new long[sets];
        long total = 0;
        for (int i = 0; i < sets; i++) {
            DType t = p.check(scalars.get(i), in.get(i), out.get(i));
            int[] shape = in.get(i)[0].shape();
            size[i] = View.numel(shape);
            plans[i] = new Plan(p, scalars.get(i), in.get(i), out.get(i), t, shape, p.truthRegisters(boolInputs(in.get(i))));
            firstBlock[i + 1] = firstBlock[i] + (size[i] + BLOCK - 1) / BLOCK;
            total += size[i];
        }
        split(firstBlock[sets], total, (from, to) -> {
            int i = 0;
            for (long b = from; b < to; b = firstBlock[i + 1]) {
                while (firstBlock[i + 1] <= b) i++;
                long end = Math.min(to, firstBlock[i + 1]);
                plans[i].elementwise((b - firstBlock[i]) * BLOCK, Math.min(size[i], (end - firstBlock[i]) * BLOCK));
            }
        });
    }

    @FunctionalInterface
    private interface Range {
        void run(long from, long to);
    }

    /** Runs [0, units) on the calling thread when the work is small, else in about two pieces per thread. */
    private static void split(long units, long elements, Range body) {
        WorkerPool pool = WorkerPool.shared();
        int pieces = (int) Math.min(units, elements < PARALLEL_ELEMENTS ? 1 : pool.parallelism() * 2L);
        if (pieces <= 1) {
            if (units > 0) body.run(0, units);
            return;
        }
        long chunk = (units + pieces - 1) / pieces;
        int count = (int) ((units + chunk - 1) / chunk);
        pool.run(count, c -> body.run(c * chunk, Math.min(units, (c + 1) * chunk)));
    }

    private static boolean[] boolInputs(View[] in) {
        boolean[] b = new boolean[in.length];
        for (int i = 0; i < in.length; i++) b[i] = in[i].dtype() == DType.BOOL;
        return b;
    }

    /** One call's program, views and layout decisions, shared by the threads; each thread has its own scratch. */
    private static final class Plan {
        private final FusedProgram p;
        private final double[] scalars;
        private final View[] in, out;
        private final MemorySegment[] inSeg, outSeg;
        private final DType t;
        private final long w;
        private final int[] shape;
        private final boolean[] truth;
        /** Per register: the input read in place (dense, compute dtype, not itself an output), else -1. */
        private final int[] inPlace;
        /** Per register: its block-sized slot of scratch; registers whose last use has passed hand theirs on. */
        private final int[] slot;
        private final int slots;

        Plan(FusedProgram p, double[] scalars, View[] in, View[] out, DType t, int[] shape, boolean[] truth) {
            this.p = p;
            this.scalars = scalars;
            this.in = in;
            this.out = out;
            this.t = t;
            this.w = t.byteSize();
            this.shape = shape;
            this.truth = truth;
            inSeg = new MemorySegment[in.length];
            for (int i = 0; i < in.length; i++) inSeg[i] = seg(in[i]);
            outSeg = new MemorySegment[out.length];
            for (int k = 0; k < out.length; k++) outSeg[k] = seg(out[k]);
            inPlace = new int[p.code().size()];
            for (int r = 0; r < inPlace.length; r++) {
                inPlace[r] = -1;
                if (p.code().get(r) instanceof FusedProgram.Load l && in[l.index()].dtype() == t
                        && in[l.index()].isContiguous() && !p.outputs().contains(r)) inPlace[r] = l.index();
            }
            slot = new int[inPlace.length];
            slots = assignSlots();
        }

        /**
         * Linear-scan slot assignment: scalars and constants keep theirs (filled once per task), outputs live to the
         * end of the block, every other register frees its slot after its last use, so a long program (a derived
         * gradient) still fits its block in cache.
         */
        private int assignSlots() {
            List<FusedProgram.Instruction> code = p.code();
            int[] lastUse = new int[code.size()];
            for (int r = 0; r < code.size(); r++) {
                lastUse[r] = r;
                for (int operand : FusedProgram.operands(code.get(r))) lastUse[operand] = r;
            }
            for (int r : p.outputs()) lastUse[r] = code.size();
            java.util.ArrayDeque<Integer> free = new java.util.ArrayDeque<>();
            int used = 0;
            for (int r = 0; r < code.size(); r++) {
                for (int operand : FusedProgram.operands(code.get(r)))
                    if (lastUse[operand] == r && inPlace[operand] < 0 && !constant(code.get(operand)) && !free.contains(slot[operand]))
                        free.push(slot[operand]);
                if (inPlace[r] >= 0) continue;
                slot[r] = constant(code.get(r)) || free.isEmpty() ? used++ : free.pop();
                if (lastUse[r] == r && !constant(code.get(r))) free.push(slot[r]);
            }
            return Math.max(used, 1);
        }

        private static boolean constant(FusedProgram.Instruction ins) {
            return ins instanceof FusedProgram.Constant || ins instanceof FusedProgram.Scalar;
        }

        /** This thread's registers: one block each. */
        private MemorySegment scratch() {
            MemorySegment[] slot = SCRATCH.get();
            long bytes = (long) slots * BLOCK * 8;
            if (slot[0] == null || slot[0].byteSize() < bytes) slot[0] = Arena.ofAuto().allocate(bytes, 64);
            return slot[0];
        }

        private long reg(int r) { return (long) slot[r] * BLOCK * w; }

        /**
         * Scalars and constants are the same in every block: written into their registers once per task, as far as
         * the task's blocks reach (one element, then doubling copies).
         */
        private void fillConstants(MemorySegment s, long elements) {
            long len = Math.min(BLOCK, elements) * w;
            for (int r = 0; r < p.code().size(); r++) {
                double v;
                if (p.code().get(r) instanceof FusedProgram.Constant c) v = c.value();
                else if (p.code().get(r) instanceof FusedProgram.Scalar sc) v = scalars[sc.index()];
                else continue;
                setD(s, t, reg(r) / w, v);
                for (long filled = w; filled < len; filled *= 2)
                    MemorySegment.copy(s, reg(r), s, reg(r) + filled, Math.min(filled, len - filled));
            }
        }

        void elementwise(long from, long to) {
            MemorySegment s = scratch();
            fillConstants(s, to - from);
            MemorySegment[] segs = new MemorySegment[p.code().size()];
            long[] offs = new long[segs.length];
            for (long start = from; start < to; start += BLOCK) {
                int len = (int) Math.min(BLOCK, to - start);
                evaluate(s, start, len, segs, offs);
                for (int k = 0; k < out.length; k++) store(segs[p.outputs().get(k)], offs[p.outputs().get(k)], k, start, len);
            }
        }

        void reduce(long fromRow, long toRow, int row) {
            MemorySegment s = scratch();
            fillConstants(s, row);
            MemorySegment[] segs = new MemorySegment[p.code().size()];
            long[] offs = new long[segs.length];
            ReduceOp op = p.reduction();
            double[] acc = new double[out.length];
            for (long r = fromRow; r < toRow; r++) {
                java.util.Arrays.fill(acc, switch (op) {
                    case SUM -> 0;
                    case PROD -> 1;
                    case MAX -> Double.NEGATIVE_INFINITY;
                    case MIN -> Double.POSITIVE_INFINITY;
                });
                for (int c = 0; c < row; c += BLOCK) {
                    int len = Math.min(BLOCK, row - c);
                    evaluate(s, r * row + c, len, segs, offs);
                    for (int k = 0; k < out.length; k++) {
                        int reg = p.outputs().get(k);
                        for (int i = 0; i < len; i++) acc[k] = combine(op, acc[k], getD(segs[reg], t, offs[reg] / w + i));
                    }
                }
                for (int k = 0; k < out.length; k++) setD(outSeg[k], out[k].dtype(), elementOffset(out[k], r), acc[k]);
            }
        }

        private static double combine(ReduceOp op, double acc, double v) {
            return switch (op) {
                case SUM -> acc + v;
                case PROD -> acc * v;
                case MAX -> Double.isNaN(acc) || Double.isNaN(v) ? Double.NaN : Math.max(acc, v);
                case MIN -> Double.isNaN(acc) || Double.isNaN(v) ? Double.NaN : Math.min(acc, v);
            };
        }

        /** Every register over elements [start, start + len) of the iteration space (row-major). */
        private void evaluate(MemorySegment s, long start, int len, MemorySegment[] segs, long[] offs) {
            for (int r = 0; r < segs.length; r++) {
                FusedProgram.Instruction ins = p.code().get(r);
                if (inPlace[r] >= 0) {
                    View v = in[inPlace[r]];
                    segs[r] = inSeg[inPlace[r]];
                    offs[r] = (v.offset() + start) * w;
                    continue;
                }
                segs[r] = s;
                offs[r] = reg(r);
                switch (ins) {
                    case FusedProgram.Load l -> gather(l.index(), start, len, s, offs[r]);
                    case FusedProgram.Unary u -> unary(u.op(), u.alpha(), segs[u.x()], offs[u.x()], s, offs[r], len);
                    case FusedProgram.Binary b -> binary(b.op(), segs[b.a()], offs[b.a()], segs[b.b()], offs[b.b()], s, offs[r], len);
                    case FusedProgram.Where wh -> {
                        if (BlockLoops.where(t, segs[wh.cond()], offs[wh.cond()], segs[wh.a()], offs[wh.a()], segs[wh.b()], offs[wh.b()], s, offs[r], len))
                            continue;
                        for (int i = 0; i < len; i++)
                            setD(s, t, offs[r] / w + i, getD(segs[wh.cond()], t, offs[wh.cond()] / w + i) != 0
                                    ? getD(segs[wh.a()], t, offs[wh.a()] / w + i) : getD(segs[wh.b()], t, offs[wh.b()] / w + i));
                    }
                    default -> { } // scalars and constants were filled in once
                }
            }
        }

        private void unary(UnaryOp op, double alpha, MemorySegment x, long xo, MemorySegment o, long oo, int len) {
            if (BlockLoops.unary(t, op, alpha, x, xo, o, oo, len)) return;
            for (int i = 0; i < len; i++) setD(o, t, oo / w + i, ScalarMath.unary(op, getD(x, t, xo / w + i), alpha));
        }

        private void binary(BinaryOp op, MemorySegment a, long ao, MemorySegment b, long bo, MemorySegment o, long oo, int len) {
            if (BlockLoops.binary(t, op, a, ao, b, bo, o, oo, len)) return;
            for (int i = 0; i < len; i++)
                setD(o, t, oo / w + i, ScalarMath.binary(op, getD(a, t, ao / w + i), getD(b, t, bo / w + i)));
        }

        /** Input i over [start, start + len) into the register at {@code regOff}, a run of the last axis at a time. */
        private void gather(int i, long start, int len, MemorySegment s, long regOff) {
            View v = in[i];
            DType vt = v.dtype();
            walk(v, start, len, (srcIndex, stride, dst, n) -> {
                if (vt == t && stride == 1) MemorySegment.copy(inSeg[i], srcIndex * w, s, regOff + dst * w, n * w);
                else if (stride == 0) {
                    double x = getD(inSeg[i], vt, srcIndex);
                    for (int j = 0; j < n; j++) setD(s, t, regOff / w + dst + j, x);
                } else {
                    for (int j = 0; j < n; j++) setD(s, t, regOff / w + dst + j, getD(inSeg[i], vt, srcIndex + j * stride));
                }
            });
        }

        /** Register values over [start, start + len) into output k, converted to its dtype (truth values to bool). */
        private void store(MemorySegment src, long srcOff, int k, long start, int len) {
            View v = out[k];
            DType vt = v.dtype();
            walk(v, start, len, (dstIndex, stride, at, n) -> {
                if (vt == t && stride == 1) MemorySegment.copy(src, srcOff + at * w, outSeg[k], dstIndex * w, n * w);
                else for (int j = 0; j < n; j++) setD(outSeg[k], vt, dstIndex + j * stride, getD(src, t, srcOff / w + at + j));
            });
        }

        @FunctionalInterface
        private interface Run {
            /** {@code n} elements along the last axis: the view's element index of the first, its stride, and the block position. */
            void run(long index, long stride, int blockAt, int n);
        }

        /** Splits [start, start + len) of the iteration space into runs along the last axis of view v. */
        private void walk(View v, long start, int len, Run run) {
            int rank = shape.length;
            if (rank == 0) {
                run.run(v.offset(), 0, 0, 1);
                return;
            }
            if (v.isContiguous()) { // one run: the per-row offsets below cost more than the copy on short rows
                run.run(v.offset() + start, 1, 0, len);
                return;
            }
            int last = shape[rank - 1];
            long stride = v.strides()[rank - 1];
            int done = 0;
            while (done < len) {
                long at = start + done;
                int col = (int) (at % last);
                int n = Math.min(len - done, last - col);
                run.run(elementOffset(v, at / last) + col * stride, stride, done, n);
                done += n;
            }
        }

        /** The element index in v of row {@code row} (row-major over all axes but the last), column 0. */
        private long elementOffset(View v, long row) {
            long off = v.offset();
            long[] st = v.strides();
            for (int d = shape.length - 2; d >= 0; d--) {
                off += (row % shape[d]) * st[d];
                row /= shape[d];
            }
            return off;
        }
    }
}
