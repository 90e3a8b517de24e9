package dev.kiln.cpu.gemm;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.kiln.cpu.simd.NativeSegments.typed;

/**
 * Double-precision packing and micro-kernel. The micro-kernel holds a {@link #MR} x (2 vectors) tile of C in registers:
 * with 512-bit vectors 12 rows, 24 accumulators plus two B vectors and one broadcast A value, which fits the 32
 * vector registers of AVX-512; with narrower vectors (AVX2 and NEON have 16 registers) 6 rows, 12 accumulators. The
 * 12-row tile on AVX2 spilled half its accumulators to the stack on every step of k.
 *
 * <p>The float and double kernels are two copies of one shape because the Vector API only generates SIMD
 * code for a species known as a constant of a concrete primitive type; a generic kernel would not vectorise.
 */
final class DoublePanelKernel implements PanelKernel<double[]> {

    static final DoublePanelKernel INSTANCE = new DoublePanelKernel();

    private static final VectorSpecies<Double> S = DoubleVector.SPECIES_PREFERRED;
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
    private static final ValueLayout.OfDouble E = ValueLayout.JAVA_DOUBLE_UNALIGNED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private DoublePanelKernel() {}

    @Override public int mr() { return MR; }

    @Override public int nr() { return NR; }

    @Override public int elementSize() { return (int) E.byteSize(); }

    @Override public double[] allocate(int elements) { return new double[elements]; }

    @Override
    public void packA(MemorySegment a, long offset, long rowStride, long colStride, int mc, int kc, double[] dst, int at) {
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
    private static void interleave(MemorySegment a, long src, long step, int kc, double[] dst, int to) {
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
                    DoubleVector.fromMemorySegment(S, b, src, ORDER).intoMemorySegment(dst, to, ORDER);
                    DoubleVector.fromMemorySegment(S, b, src + L * w, ORDER).intoMemorySegment(dst, to + L * w, ORDER);
                }
                continue;
            }
            if (cols < NR) dst.asSlice(base, NR * kc * w).fill((byte) 0);
            for (int j = 0; j < cols; j++) {
                long src = offset + (long) (jp + j) * colStride, to = base + j * w;
                for (int p = 0; p < kc; p++) dst.set(E, to + (long) p * NR * w, b.getAtIndex(E, src + p * rowStride));
            }
        }
    }

    @Override
    public void tile(int kc, double[] pa, int aIndex, MemorySegment pb, PanelRows bRows, int bRow, long bColumn, MemorySegment c,
                     long cOffset, long cRowStride, long cColStride, int rows, int cols, boolean accumulate, double[] scratch) {
        pb = typed(pb);
        DoubleVector zero = DoubleVector.zero(S);
        DoubleVector c00 = zero, c01 = zero;
        DoubleVector c10 = zero, c11 = zero;
        DoubleVector c20 = zero, c21 = zero;
        DoubleVector c30 = zero, c31 = zero;
        DoubleVector c40 = zero, c41 = zero;
        DoubleVector c50 = zero, c51 = zero;
        DoubleVector c60 = zero, c61 = zero;
        DoubleVector c70 = zero, c71 = zero;
        DoubleVector c80 = zero, c81 = zero;
        DoubleVector c90 = zero, c91 = zero;
        DoubleVector c100 = zero, c101 = zero;
        DoubleVector c110 = zero, c111 = zero;
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
                DoubleVector b0 = DoubleVector.fromMemorySegment(S, pb, bi, ORDER);
                DoubleVector b1 = DoubleVector.fromMemorySegment(S, pb, bi + L * E.byteSize(), ORDER);
                DoubleVector a;
                a = DoubleVector.broadcast(S, pa[ai + 0]); c00 = a.fma(b0, c00); c01 = a.fma(b1, c01);
                a = DoubleVector.broadcast(S, pa[ai + 1]); c10 = a.fma(b0, c10); c11 = a.fma(b1, c11);
                a = DoubleVector.broadcast(S, pa[ai + 2]); c20 = a.fma(b0, c20); c21 = a.fma(b1, c21);
                a = DoubleVector.broadcast(S, pa[ai + 3]); c30 = a.fma(b0, c30); c31 = a.fma(b1, c31);
                if (middle) {
                    a = DoubleVector.broadcast(S, pa[ai + 4]); c40 = a.fma(b0, c40); c41 = a.fma(b1, c41);
                    a = DoubleVector.broadcast(S, pa[ai + 5]); c50 = a.fma(b0, c50); c51 = a.fma(b1, c51);
                }
                if (MR == 12 && upper) {
                    a = DoubleVector.broadcast(S, pa[ai + 6]); c60 = a.fma(b0, c60); c61 = a.fma(b1, c61);
                    a = DoubleVector.broadcast(S, pa[ai + 7]); c70 = a.fma(b0, c70); c71 = a.fma(b1, c71);
                    a = DoubleVector.broadcast(S, pa[ai + 8]); c80 = a.fma(b0, c80); c81 = a.fma(b1, c81);
                    a = DoubleVector.broadcast(S, pa[ai + 9]); c90 = a.fma(b0, c90); c91 = a.fma(b1, c91);
                    a = DoubleVector.broadcast(S, pa[ai + 10]); c100 = a.fma(b0, c100); c101 = a.fma(b1, c101);
                    a = DoubleVector.broadcast(S, pa[ai + 11]); c110 = a.fma(b0, c110); c111 = a.fma(b1, c111);
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
    private static void writeTile(double[] scratch, MemorySegment c, long cOffset, long cRowStride, long cColStride,
                                  int rows, int cols, boolean accumulate) {
        c = typed(c);
        if (cols == NR && cColStride == 1) {
            for (int i = 0; i < rows; i++) {
                long at = (cOffset + i * cRowStride) * E.byteSize();
                for (int j = 0; j < NR; j += L, at += L * E.byteSize()) {
                    DoubleVector v = DoubleVector.fromArray(S, scratch, i * NR + j);
                    if (accumulate) v = v.add(DoubleVector.fromMemorySegment(S, c, at, ORDER));
                    v.intoMemorySegment(c, at, ORDER);
                }
            }
            return;
        }
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                long at = cOffset + i * cRowStride + j * cColStride;
                double v = scratch[i * NR + j];
                c.setAtIndex(E, at, accumulate ? c.getAtIndex(E, at) + v : v);
            }
        }
    }
}
