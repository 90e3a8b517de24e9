package dev.kiln.cpu.simd;

import dev.kiln.DType;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Vectorised, multi-threaded fast paths for float32 and float64 elementwise ops and reductions. Each entry
 * point returns false, having done nothing, when the case is not one it handles (another dtype, an op with no
 * vector form, a layout it does not recognise), and the caller then runs its general strided kernel.
 *
 * <p>Recognised layouts for elementwise ops: the output is seen as outer dims x one inner run of at least a few
 * elements, contiguous in the output; each input either runs along it too ({@code [N, C] + [N, C]}, or a
 * column slice of a wider matrix) or holds one value for it ({@code [N, C] - [N, 1]}, as softmax does, or a
 * whole-tensor scalar); outer dims may have any strides ({@code [N, C] + [C]} is a bias, a transposed operand
 * repeats its rows). Reductions take a dense input reduced over one run of adjacent axes.
 */
public final class VectorKernels {
    private VectorKernels() {}

    /** Elements below which the calling thread does all the work: a worker wake-up costs as much as this. */
    private static final long PARALLEL_ELEMENTS = 1L << 17;
    /** Chunk boundaries fall on multiples of this many elements, so threads do not share cache lines. */
    private static final long ALIGN = 256;

    // ---- unary ---------------------------------------------------------------------------------------------

    public static boolean unary(UnaryOp op, double alpha, View x, MemorySegment xs, View out, MemorySegment os) {
        DType t = out.dtype();
        if (!floating(t) || x.dtype() != t) return false;
        if (!(t == DType.FLOAT32 ? FloatLoops.supports(op) : DoubleLoops.supports(op))) return false;
        Rows rows = Rows.of(out, x, null);
        if (rows == null || !rows.dense[1]) return false;
        long w = t.byteSize();
        rows.run((from, to, i) -> {
            long oo = (rows.offset(0, i) + from) * w, xo = (rows.offset(1, i) + from) * w;
            if (t == DType.FLOAT32) FloatLoops.unary(op, alpha, xs, xo, os, oo, to - from);
            else DoubleLoops.unary(op, alpha, xs, xo, os, oo, to - from);
        });
        return true;
    }

    // ---- binary --------------------------------------------------------------------------------------------

    public static boolean binaryScalar(BinaryOp op, View a, MemorySegment as, double scalar, boolean scalarFirst,
                                       View out, MemorySegment os) {
        if (op.isComparison()) return compareScalar(op, a, as, scalar, scalarFirst, out, os);
        DType t = out.dtype();
        if (!floating(t) || a.dtype() != t || !supports(t, op)) return false;
        Rows rows = Rows.of(out, a, null);
        if (rows == null || !rows.dense[1]) return false;
        long w = t.byteSize();
        rows.run((from, to, i) -> scalarRun(t, op, as, (rows.offset(1, i) + from) * w, scalar, scalarFirst,
                os, (rows.offset(0, i) + from) * w, to - from));
        return true;
    }

    public static boolean binary(BinaryOp op, View a, MemorySegment as, View b, MemorySegment bs, View out, MemorySegment os) {
        if (op.isComparison()) return compare(op, a, as, b, bs, out, os);
        DType t = out.dtype();
        if (!floating(t) || a.dtype() != t || b.dtype() != t || !supports(t, op)) return false;
        Rows rows = Rows.of(out, a, b);
        if (rows == null || (!rows.dense[1] && !rows.dense[2])) return false;
        long w = t.byteSize();
        rows.run((from, to, i) -> {
            long oo = (rows.offset(0, i) + from) * w;
            long ao = (rows.offset(1, i) + (rows.dense[1] ? from : 0)) * w;
            long bo = (rows.offset(2, i) + (rows.dense[2] ? from : 0)) * w;
            if (!rows.dense[1]) scalarRun(t, op, bs, bo, read(as, t, ao), true, os, oo, to - from);
            else if (!rows.dense[2]) scalarRun(t, op, as, ao, read(bs, t, bo), false, os, oo, to - from);
            else if (t == DType.FLOAT32) FloatLoops.binary(op, as, ao, bs, bo, os, oo, to - from);
            else DoubleLoops.binary(op, as, ao, bs, bo, os, oo, to - from);
        });
        return true;
    }

    // ---- comparisons and conversions (the input and output dtypes differ) -------------------------------------

    private static boolean compareScalar(BinaryOp op, View a, MemorySegment as, double scalar, boolean scalarFirst,
                                         View out, MemorySegment os) {
        DType t = a.dtype();
        // A float32 run is compared in float: exact only when the number is a float itself.
        if (!MixedTypeLoops.comparable(t) || (t == DType.FLOAT32 && (double) (float) scalar != scalar && !Double.isNaN(scalar))) return false;
        Rows rows = Rows.of(out, a, null);
        if (rows == null || !rows.dense[1]) return false;
        long w = t.byteSize();
        rows.run((from, to, i) -> {
            long ao = (rows.offset(1, i) + from) * w, oo = rows.offset(0, i) + from;
            if (scalarFirst) MixedTypeLoops.compare(t, op, null, 0, scalar, as, ao, 0, os, oo, to - from);
            else MixedTypeLoops.compare(t, op, as, ao, 0, null, 0, scalar, os, oo, to - from);
        });
        return true;
    }

    private static boolean compare(BinaryOp op, View a, MemorySegment as, View b, MemorySegment bs, View out, MemorySegment os) {
        DType t = a.dtype();
        if (!MixedTypeLoops.comparable(t) || b.dtype() != t) return false;
        Rows rows = Rows.of(out, a, b);
        if (rows == null || (!rows.dense[1] && !rows.dense[2])) return false;
        long w = t.byteSize();
        rows.run((from, to, i) -> {
            long oo = rows.offset(0, i) + from;
            long ao = (rows.offset(1, i) + (rows.dense[1] ? from : 0)) * w;
            long bo = (rows.offset(2, i) + (rows.dense[2] ? from : 0)) * w;
            if (!rows.dense[1]) MixedTypeLoops.compare(t, op, null, 0, read(as, t, ao), bs, bo, 0, os, oo, to - from);
            else if (!rows.dense[2]) MixedTypeLoops.compare(t, op, as, ao, 0, null, 0, read(bs, t, bo), os, oo, to - from);
            else MixedTypeLoops.compare(t, op, as, ao, 0, bs, bo, 0, os, oo, to - from);
        });
        return true;
    }

    /** A dtype conversion of x into out (same shape), for the pairs {@link MixedTypeLoops#converts} lists. */
    public static boolean convert(View x, MemorySegment xs, View out, MemorySegment os) {
        DType from = x.dtype(), to = out.dtype();
        if (!MixedTypeLoops.converts(from, to)) return false;
        Rows rows = Rows.of(out, x, null);
        if (rows == null || !rows.dense[1]) return false;
        long wx = from.byteSize(), wo = to.byteSize();
        rows.run((lo, hi, i) -> MixedTypeLoops.convert(from, xs, (rows.offset(1, i) + lo) * wx, to, os, (rows.offset(0, i) + lo) * wo, hi - lo));
        return true;
    }

    private static void scalarRun(DType t, BinaryOp op, MemorySegment a, long aOff, double scalar, boolean scalarFirst,
                                  MemorySegment out, long outOff, long n) {
        if (t == DType.FLOAT32) FloatLoops.binaryScalar(op, a, aOff, scalar, scalarFirst, out, outOff, n);
        else DoubleLoops.binaryScalar(op, a, aOff, scalar, scalarFirst, out, outOff, n);
    }

    /**
     * An elementwise op's operands seen as outer dims x one inner run. Over the inner run the output is
     * contiguous and each input either contiguous too ({@code dense}) or one repeated value (stride 0, a
     * broadcast); the outer dims may have any strides (a slice of columns, a transposed broadcast), and are
     * walked by index, with adjacent outer dims merged where every operand allows it.
     */
    private record Rows(int[] outerShape, long[][] outerStrides, long[] offsets, boolean[] dense, long inner) {
        /** Inner runs shorter than this leave the op to the scalar kernel: per-run setup would dominate. */
        private static final long MIN_RUN = 8;

        /**
         * The longest inner run for out and inputs a, b (b may be null); null when there are several runs and
         * they are shorter than MIN_RUN.
         */
        static Rows of(View out, View a, View b) {
            View[] ops = b == null ? new View[] {out, a} : new View[] {out, a, b};
            int[] shape = out.shape();
            int r = shape.length, split = r;
            while (split > 0 && runs(ops, shape, split - 1)) split--;
            long inner = View.numel(java.util.Arrays.copyOfRange(shape, split, r));
            if (inner < MIN_RUN && inner != out.numel()) return null;
            boolean[] dense = new boolean[ops.length];
            long[] offsets = new long[ops.length];
            for (int k = 0; k < ops.length; k++) {
                dense[k] = collapses(ops[k], split, r, 1);
                offsets[k] = ops[k].offset();
            }
            // Merge outer dims: drop size-1 dims, join d with the next kept one where every stride allows.
            int[] os = new int[split];
            long[][] st = new long[ops.length][split];
            int n = 0;
            for (int d = 0; d < split; d++) {
                if (shape[d] == 1) continue;
                boolean merge = n > 0;
                for (int k = 0; k < ops.length && merge; k++) merge = st[k][n - 1] == ops[k].strides()[d] * shape[d];
                if (merge) {
                    os[n - 1] *= shape[d];
                    for (int k = 0; k < ops.length; k++) st[k][n - 1] = ops[k].strides()[d];
                } else {
                    os[n] = shape[d];
                    for (int k = 0; k < ops.length; k++) st[k][n] = ops[k].strides()[d];
                    n++;
                }
            }
            long[][] strides = new long[ops.length][];
            for (int k = 0; k < ops.length; k++) strides[k] = java.util.Arrays.copyOf(st[k], n);
            return new Rows(java.util.Arrays.copyOf(os, n), strides, offsets, dense, inner);
        }

        /** Whether dims [from, r) are one run: contiguous for the output, contiguous or broadcast for inputs. */
        private static boolean runs(View[] ops, int[] shape, int from) {
            if (!collapses(ops[0], from, shape.length, 1)) return false;
            for (int k = 1; k < ops.length; k++) {
                if (!collapses(ops[k], from, shape.length, 1) && !collapses(ops[k], from, shape.length, 0)) return false;
            }
            return true;
        }

        /** Whether dims [from, to) are row-major over a step of {@code unit} (all 0 when unit is 0). */
        private static boolean collapses(View v, int from, int to, long unit) {
            int[] shape = v.shape();
            long[] strides = v.strides();
            long expected = unit;
            for (int d = to - 1; d >= from; d--) {
                if (shape[d] != 1 && strides[d] != expected) return false;
                expected *= shape[d];
            }
            return true;
        }

        /** Element offset of operand k at the start of outer row i. */
        long offset(int k, long i) {
            long off = offsets[k];
            long[] st = outerStrides[k];
            for (int d = outerShape.length - 1; d > 0; d--) {
                off += (i % outerShape[d]) * st[d];
                i /= outerShape[d];
            }
            return outerShape.length == 0 ? off : off + i * st[0];
        }

        void run(RangeBody body) {
            long rows = 1;
            for (int s : outerShape) rows *= s;
            grid(rows, inner, PARALLEL_ELEMENTS, body);
        }
    }

    // ---- reductions ----------------------------------------------------------------------------------------

    /**
     * Reduces a dense {@code x} over {@code axes} when they are adjacent: x is then outer x reduced x inner,
     * and out (dense) is outer x inner. Inner of 1 reduces along memory; otherwise whole rows of inner values
     * are combined with the binary loops, which keeps the sequential order of the scalar kernel.
     */
    public static boolean reduce(ReduceOp op, View x, MemorySegment xs, int[] axes, View out, MemorySegment os) {
        DType t = out.dtype();
        if (!floating(t) || x.dtype() != t || !x.isContiguous() || !out.isContiguous() || axes.length == 0) return false;
        int gap = 0;
        for (int i = 1; i < axes.length; i++) if (axes[i] != axes[i - 1] + 1) gap = gap == 0 ? i : -1;
        if (gap < 0) return false;
        if (gap > 0) return reduceAroundMiddle(t, op, x, xs, axes, gap, out, os);
        int[] shape = x.shape();
        long outer = View.numel(java.util.Arrays.copyOfRange(shape, 0, axes[0]));
        long reduced = View.numel(java.util.Arrays.copyOfRange(shape, axes[0], axes[axes.length - 1] + 1));
        long inner = View.numel(java.util.Arrays.copyOfRange(shape, axes[axes.length - 1] + 1, shape.length));
        if (reduced == 0 || outer * inner == 0) return false;
        long w = t.byteSize(), xo = x.offset(), oo = out.offset();
        if (inner == 1) {
            reduceRows(t, op, xs, xo, os, oo, outer, reduced);
            return true;
        }
        BinaryOp combine = switch (op) {
            case SUM -> BinaryOp.ADD;
            case PROD -> BinaryOp.MUL;
            case MAX -> BinaryOp.MAXIMUM;
            case MIN -> BinaryOp.MINIMUM;
        };
        // Tasks are sized by the elements they read (reduced per output), not by their outputs: a [4096, 768] column
        // sum is 768 outputs but 3M reads, and ran on one thread when split by outputs.
        long grain = Math.max(1, PARALLEL_ELEMENTS / reduced);
        RangeBody columns = (from, to, o) -> {
            long dst = (oo + o * inner + from) * w, src = (xo + o * reduced * inner + from) * w;
            if (op == ReduceOp.SUM && t == DType.FLOAT32) {
                FloatLoops.sumColumns(xs, src, inner * w, reduced, os, dst, to - from);
                return;
            }
            MemorySegment.copy(xs, src, os, dst, (to - from) * w);
            for (long j = 1; j < reduced; j++) {
                long at = src + j * inner * w;
                if (t == DType.FLOAT32) FloatLoops.binary(combine, os, dst, xs, at, os, dst, to - from);
                else DoubleLoops.binary(combine, os, dst, xs, at, os, dst, to - from);
            }
        };
        grid(outer, inner, grain, columns);
        return true;
    }

    /**
     * Reduces a dense x over its leading and trailing axes, keeping a run in the middle: a bias gradient, the sum of
     * (N, C, H, W) over N, H and W. x is then outer x kept x inner with axes [0, axes[gap - 1]] and [axes[gap], rank)
     * reduced (false when they are not), and each kept element combines its outer rows of inner values in order.
     */
    private static boolean reduceAroundMiddle(DType t, ReduceOp op, View x, MemorySegment xs, int[] axes, int gap, View out, MemorySegment os) {
        int[] shape = x.shape();
        int r = shape.length, lead = axes[gap - 1] + 1;
        if (axes[0] != 0 || axes[axes.length - 1] != r - 1 || gap != lead) return false;
        long outer = View.numel(java.util.Arrays.copyOfRange(shape, 0, lead));
        long kept = View.numel(java.util.Arrays.copyOfRange(shape, lead, axes[gap]));
        long inner = View.numel(java.util.Arrays.copyOfRange(shape, axes[gap], r));
        if (outer * inner == 0 || kept == 0) return false;
        long w = t.byteSize(), xo = x.offset(), oo = out.offset();
        chunksOf(kept, Math.max(1, PARALLEL_ELEMENTS / (outer * inner)), (from, to) -> {
            for (long k = from; k < to; k++) {
                double acc = 0;
                for (long a = 0; a < outer; a++) {
                    long at = (xo + (a * kept + k) * inner) * w;
                    double v = t == DType.FLOAT32 ? FloatLoops.reduce(op, xs, at, inner) : DoubleLoops.reduce(op, xs, at, inner);
                    acc = a == 0 ? v : DoubleLoops.combine(op, acc, v);
                }
                if (t == DType.FLOAT32) os.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, oo + k, (float) acc);
                else os.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, oo + k, acc);
            }
        });
        return true;
    }

    /** {@code out[i] = reduce(x[i, 0 .. len))} for each of {@code rows} dense rows. */
    private static void reduceRows(DType t, ReduceOp op, MemorySegment xs, long xo, MemorySegment os, long oo,
                                   long rows, long len) {
        long w = t.byteSize();
        if (rows > 1 || len < PARALLEL_ELEMENTS) {
            chunksOf(rows, Math.max(1, PARALLEL_ELEMENTS / len), (from, to) -> {
                for (long i = from; i < to; i++) {
                    long at = (xo + i * len) * w;
                    if (t == DType.FLOAT32) os.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, oo + i, FloatLoops.reduce(op, xs, at, len));
                    else os.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, oo + i, DoubleLoops.reduce(op, xs, at, len));
                }
            });
            return;
        }
        // One long row: reduce chunks in parallel, then combine the partial results in chunk order.
        int tasks = WorkerPool.shared().parallelism() * 2;
        long chunk = roundUp((len + tasks - 1) / tasks);
        int n = (int) ((len + chunk - 1) / chunk);
        double[] partial = new double[n];
        WorkerPool.shared().run(n, c -> {
            long from = c * chunk, count = Math.min(chunk, len - from), at = (xo + from) * w;
            partial[c] = t == DType.FLOAT32 ? FloatLoops.reduce(op, xs, at, count) : DoubleLoops.reduce(op, xs, at, count);
        });
        double acc = partial[0];
        for (int c = 1; c < n; c++) acc = DoubleLoops.combine(op, acc, partial[c]);
        if (t == DType.FLOAT32) os.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, oo, (float) acc);
        else os.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, oo, acc);
    }

    // ---- splitting work ------------------------------------------------------------------------------------

    @FunctionalInterface
    private interface Range {
        void run(long from, long to);
    }

    @FunctionalInterface
    private interface RangeBody {
        /** Elements [from, to) of row i. */
        void run(long from, long to, long i);
    }

    /** Runs body over [0, n) in aligned chunks, on several threads when n is large. */
    private static void chunks(long n, Range body) {
        if (n < PARALLEL_ELEMENTS) {
            if (n > 0) body.run(0, n);
            return;
        }
        chunksOf(n, PARALLEL_ELEMENTS / 2, body);
    }

    /** Runs body over [0, n) in pieces of at least {@code grain}, at most two per thread. */
    private static void chunksOf(long n, long grain, Range body) {
        WorkerPool pool = WorkerPool.shared();
        long pieces = Math.min(pool.parallelism() * 2L, Math.max(1, n / grain));
        if (pieces <= 1) {
            if (n > 0) body.run(0, n);
            return;
        }
        long chunk = grain >= ALIGN ? roundUp((n + pieces - 1) / pieces) : (n + pieces - 1) / pieces;
        int count = (int) ((n + chunk - 1) / chunk);
        pool.run(count, c -> body.run(c * chunk, Math.min(n, (c + 1) * chunk)));
    }

    /**
     * Runs body over a rows x inner grid: whole rows per task when there are many, else slices of one row; a task
     * gets at least {@code grain} elements (fewer where each element costs more, as a column of a reduction does).
     */
    private static void grid(long rows, long inner, long grain, RangeBody body) {
        if (rows == 0 || inner == 0) return;
        if (rows >= WorkerPool.shared().parallelism() * 2L || inner < grain) {
            chunksOf(rows, Math.max(1, grain / inner), (from, to) -> {
                for (long i = from; i < to; i++) body.run(0, inner, i);
            });
        } else {
            for (long i = 0; i < rows; i++) {
                long row = i;
                chunksOf(inner, Math.max(1, grain / 2), (from, to) -> body.run(from, to, row));
            }
        }
    }

    private static long roundUp(long x) { return (x + ALIGN - 1) / ALIGN * ALIGN; }

    private static boolean floating(DType t) { return t == DType.FLOAT32 || t == DType.FLOAT64; }

    private static boolean supports(DType t, BinaryOp op) {
        return t == DType.FLOAT32 ? FloatLoops.supports(op) : DoubleLoops.supports(op);
    }

    private static double read(MemorySegment s, DType t, long byteOffset) {
        return t == DType.FLOAT32 ? s.get(ValueLayout.JAVA_FLOAT_UNALIGNED, byteOffset)
                : s.get(ValueLayout.JAVA_DOUBLE_UNALIGNED, byteOffset);
    }
}
