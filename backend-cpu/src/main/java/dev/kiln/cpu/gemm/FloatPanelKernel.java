package dev.kiln.cpu.gemm;

import dev.kiln.cpu.simd.HeapSlots;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.kiln.cpu.simd.NativeSegments.typed;

/**
 * Single-precision packing and micro-kernel. The micro-kernel holds a {@link #MR} x (2 vectors) tile of C in registers:
 * with 512-bit vectors 12 rows, 24 accumulators plus two B vectors and one broadcast A value, which fits the 32
 * vector registers of AVX-512; with narrower vectors (AVX2 and NEON have 16 registers) 6 rows, 12 accumulators. The
 * 12-row tile on AVX2 spilled half its accumulators to the stack on every step of k.
 *
 * <p>The float and double kernels are two copies of one shape because the Vector API only generates SIMD
 * code for a species known as a constant of a concrete primitive type; a generic kernel would not vectorise.
 */
final class FloatPanelKernel implements PanelKernel<float[]> {

    static final FloatPanelKernel INSTANCE = new FloatPanelKernel();

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /**
     * Rows of the register tile: rows 6 to 11 below are compiled only where this is 12 (a constant C2 folds), and
     * run only for a tile of more than 6 rows; rows 4 and 5 only for one of more than 4. The tests are invariant in
     * the k loop, which C2 unswitches: a 64-row product's last panel of 4 rows costs a third of a panel, not a whole
     * one. Run as a 6-row panel, it cost 64 x 576 x 3200 (a ResNet convolution's product) 2.46 against 2.30 ms on
     * one Zen 4 core.
     */
    private static final int MR = S.vectorBitSize() >= 512 ? 12 : 6;
    private static final int NR = 2 * L;
    private static final ValueLayout.OfFloat E = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private FloatPanelKernel() {}

    @Override public int mr() { return MR; }

    @Override public int nr() { return NR; }

    @Override public int elementSize() { return (int) E.byteSize(); }

    @Override public float[] allocate(int elements) { return new float[elements]; }

    @Override
    public void packA(MemorySegment a, long offset, long rowStride, long colStride, int mc, int kc, float[] dst, int at) {
        a = typed(a);
        for (int ip = 0; ip < mc; ip += MR) {
            int rows = Math.min(MR, mc - ip);
            int base = at + ip * kc;
            if (rows < MR) java.util.Arrays.fill(dst, base, base + MR * kc, 0);
            if (rowStride == 1 && colStride != 1) {
                // Column-major (transposed) A: each k step's rows are already adjacent.
                for (int p = 0; p < kc; p++)
                    MemorySegment.copy(a, E, (offset + ip + p * colStride) * E.byteSize(), dst, base + p * MR, rows);
            } else {
                // Each row's k run interleaved into the panel, read in place, the unit stride of row-major A as a
                // constant. A 512 x 512 float A took 237 us to pack on one Zen 4 core bulk-copied to a heap run first,
                // 170 read at a variable stride, 92 at the constant one.
                for (int i = 0; i < rows; i++) {
                    long src = offset + (long) (ip + i) * rowStride;
                    if (colStride == 1) interleave(a, src, 1, kc, dst, base + i);
                    else interleave(a, src, colStride, kc, dst, base + i);
                }
            }
        }
    }

    /** {@code dst[to + p * MR] = a[src + p * step]} for p in [0, kc): one row of A into a packed panel. */
    private static void interleave(MemorySegment a, long src, long step, int kc, float[] dst, int to) {
        for (int p = 0; p < kc; p++) dst[to + p * MR] = a.getAtIndex(E, src + p * step);
    }

    @Override
    public void packB(MemorySegment b, long offset, long rowStride, long colStride, int kc, int nc, MemorySegment dst, long at) {
        b = typed(b);
        dst = typed(dst);
        long w = E.byteSize();
        for (int jp = 0; jp < nc; jp += NR) {
            int cols = Math.min(NR, nc - jp);
            long base = (at + (long) jp * kc) * w;
            if (colStride == 1 && cols == NR) {
                for (int p = 0; p < kc; p++) {
                    long src = (offset + jp + p * rowStride) * w, to = base + (long) p * NR * w;
                    FloatVector.fromMemorySegment(S, b, src, ORDER).intoMemorySegment(dst, to, ORDER);
                    FloatVector.fromMemorySegment(S, b, src + L * w, ORDER).intoMemorySegment(dst, to + L * w, ORDER);
                }
                continue;
            }
            if (rowStride == 1) {
                packColumnMajor(b, offset + (long) jp * colStride, colStride, kc, cols, dst, base);
                continue;
            }
            if (cols < NR) dst.asSlice(base, NR * kc * w).fill((byte) 0);
            for (int j = 0; j < cols; j++) {
                long src = offset + (long) (jp + j) * colStride, to = base + j * w;
                for (int p = 0; p < kc; p++) dst.set(E, to + (long) p * NR * w, b.getAtIndex(E, src + p * rowStride));
            }
        }
    }

    /** Per-thread staging for the packing: k runs of A's rows or B's columns. */
    private static final HeapSlots STAGING = new HeapSlots(1);

    /** This thread's staging for at least {@code elements} run elements. */
    private static float[] staging(int elements) { return STAGING.get(0, elements); }

    /** Per-thread gather indices for {@link #packColumnMajor}: lane j reads column j's run, {@code j * kc}. */
    private static final ThreadLocal<int[]> RUN_STARTS = ThreadLocal.withInitial(() -> new int[NR]);

    /**
     * One panel of column-major B (a transposed weight, as in {@code x @ w.t()}), where each column's k run is
     * contiguous: the runs are bulk-copied to a heap array, and each row of the panel is gathered from them, one
     * vector per half. Reading the segment element by element at the columns' stride cost 10-30 ns an element, which
     * made this packing 8-10% of the GPT and LSTM training steps; interleaving the copied runs one element at a time
     * still made it 10% of a GRU's training step.
     */
    private static void packColumnMajor(MemorySegment b, long first, long colStride, int kc, int cols, MemorySegment dst, long base) {
        dst = typed(dst);
        float[] runs = staging(NR * kc);
        int[] starts = RUN_STARTS.get();
        for (int j = 0; j < cols; j++) MemorySegment.copy(b, E, (first + j * colStride) * E.byteSize(), runs, j * kc, kc);
        java.util.Arrays.fill(runs, cols * kc, NR * kc, 0);
        for (int j = 0; j < NR; j++) starts[j] = j * kc;
        for (int p = 0; p < kc; p++) {
            long to = base + (long) p * NR * E.byteSize();
            FloatVector.fromArray(S, runs, p, starts, 0).intoMemorySegment(dst, to, ORDER);
            FloatVector.fromArray(S, runs, p, starts, L).intoMemorySegment(dst, to + L * E.byteSize(), ORDER);
        }
    }

    @Override
    public void tile(int kc, float[] pa, int aIndex, MemorySegment pb, PanelRows bRows, int bRow, long bColumn, MemorySegment c,
                     long cOffset, long cRowStride, long cColStride, int rows, int cols, boolean accumulate, float[] scratch) {
        pb = typed(pb);
        FloatVector zero = FloatVector.zero(S);
        FloatVector c00 = zero, c01 = zero;
        FloatVector c10 = zero, c11 = zero;
        FloatVector c20 = zero, c21 = zero;
        FloatVector c30 = zero, c31 = zero;
        FloatVector c40 = zero, c41 = zero;
        FloatVector c50 = zero, c51 = zero;
        FloatVector c60 = zero, c61 = zero;
        FloatVector c70 = zero, c71 = zero;
        FloatVector c80 = zero, c81 = zero;
        FloatVector c90 = zero, c91 = zero;
        FloatVector c100 = zero, c101 = zero;
        FloatVector c110 = zero, c111 = zero;
        boolean middle = rows > 4, upper = rows > 6;
        long[] starts = bRows.starts();
        int length = bRows.length(), run = bRow / length, p = 0, end = Math.min(kc, length - bRow % length);
        // Byte offset of row p in this run: base + p * step.
        long step = bRows.stride() * E.byteSize(), base = (starts[run] + bRow % length * bRows.stride() + bColumn) * E.byteSize();
        while (true) {
            // Within a run the rows are evenly spaced: indices linear in p, so C2 hoists the bounds checks out of the loop.
            for (; p < end; p++) {
                int ai = aIndex + p * MR;
                long bi = base + p * step;
                FloatVector b0 = FloatVector.fromMemorySegment(S, pb, bi, ORDER);
                FloatVector b1 = FloatVector.fromMemorySegment(S, pb, bi + L * E.byteSize(), ORDER);
                FloatVector a;
                a = FloatVector.broadcast(S, pa[ai + 0]); c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
                a = FloatVector.broadcast(S, pa[ai + 1]); c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
                a = FloatVector.broadcast(S, pa[ai + 2]); c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
                a = FloatVector.broadcast(S, pa[ai + 3]); c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
                if (middle) {
                    a = FloatVector.broadcast(S, pa[ai + 4]); c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
                    a = FloatVector.broadcast(S, pa[ai + 5]); c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
                }
                if (MR == 12 && upper) {
                    a = FloatVector.broadcast(S, pa[ai + 6]); c60 = a.fma(b0, c60); c61 = a.fma(b1, c61);
                    a = FloatVector.broadcast(S, pa[ai + 7]); c70 = a.fma(b0, c70); c71 = a.fma(b1, c71);
                    a = FloatVector.broadcast(S, pa[ai + 8]); c80 = a.fma(b0, c80); c81 = a.fma(b1, c81);
                    a = FloatVector.broadcast(S, pa[ai + 9]); c90 = a.fma(b0, c90); c91 = a.fma(b1, c91);
                    a = FloatVector.broadcast(S, pa[ai + 10]); c100 = a.fma(b0, c100); c101 = a.fma(b1, c101);
                    a = FloatVector.broadcast(S, pa[ai + 11]); c110 = a.fma(b0, c110); c111 = a.fma(b1, c111);
                }
            }
            if (p >= kc) break;
            base = (starts[++run] + bColumn) * E.byteSize() - p * step;
            end = p + Math.min(length, kc - p);
        }
        c00.intoArray(scratch, 0 * NR); c01.intoArray(scratch, 0 * NR + L);
        c10.intoArray(scratch, 1 * NR); c11.intoArray(scratch, 1 * NR + L);
        c20.intoArray(scratch, 2 * NR); c21.intoArray(scratch, 2 * NR + L);
        c30.intoArray(scratch, 3 * NR); c31.intoArray(scratch, 3 * NR + L);
        if (middle) {
            c40.intoArray(scratch, 4 * NR); c41.intoArray(scratch, 4 * NR + L);
            c50.intoArray(scratch, 5 * NR); c51.intoArray(scratch, 5 * NR + L);
        }
        if (MR == 12 && upper) {
            c60.intoArray(scratch, 6 * NR); c61.intoArray(scratch, 6 * NR + L);
            c70.intoArray(scratch, 7 * NR); c71.intoArray(scratch, 7 * NR + L);
            c80.intoArray(scratch, 8 * NR); c81.intoArray(scratch, 8 * NR + L);
            c90.intoArray(scratch, 9 * NR); c91.intoArray(scratch, 9 * NR + L);
            c100.intoArray(scratch, 10 * NR); c101.intoArray(scratch, 10 * NR + L);
            c110.intoArray(scratch, 11 * NR); c111.intoArray(scratch, 11 * NR + L);
        }
        writeTile(scratch, c, cOffset, cRowStride, cColStride, rows, cols, accumulate);
    }

    /**
     * Stores the finished tile from {@code scratch}. The accumulators go through this array rather than
     * straight to C because a helper taking 24 vectors would not be inlined, and C2 would box every vector.
     */
    private static void writeTile(float[] scratch, MemorySegment c, long cOffset, long cRowStride, long cColStride,
                                  int rows, int cols, boolean accumulate) {
        c = typed(c);
        if (cols == NR && cColStride == 1) {
            for (int i = 0; i < rows; i++) {
                long at = (cOffset + i * cRowStride) * E.byteSize();
                for (int j = 0; j < NR; j += L, at += L * E.byteSize()) {
                    FloatVector v = FloatVector.fromArray(S, scratch, i * NR + j);
                    if (accumulate) v = v.add(FloatVector.fromMemorySegment(S, c, at, ORDER));
                    v.intoMemorySegment(c, at, ORDER);
                }
            }
            return;
        }
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                long at = cOffset + i * cRowStride + j * cColStride;
                float v = scratch[i * NR + j];
                c.setAtIndex(E, at, accumulate ? c.getAtIndex(E, at) + v : v);
            }
        }
    }
}
