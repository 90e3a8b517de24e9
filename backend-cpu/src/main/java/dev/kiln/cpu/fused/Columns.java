package dev.kiln.cpu.fused;

import dev.kiln.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * im2col and its adjoint for one image. The column matrix is dense, (c * kh * kw) rows of oh * ow, so one group's
 * block of rows is a (k x p) matrix the GEMM reads directly. Every tap's row is split into the part of the output
 * whose input column lies inside the image (copied, or accumulated back) and the borders (zeros).
 */
final class Columns {
    private static final ValueLayout.OfInt BITS32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfLong BITS64 = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED;

    private Columns() {}

    /**
     * Writes the columns of the image at element {@code base} of {@code x} (channel, row and column strides
     * {@code sc, sh, sw}) into {@code cols} from element 0. Elements are moved as raw bits of {@code width} bytes.
     */
    static void im2col(MemorySegment x, long base, long sc, long sh, long sw, ConvGeometry g, MemorySegment cols, int width) {
        var s = g.spec();
        int ow = g.ow();
        long row = 0;
        for (int c = 0; c < g.c(); c++) {
            for (int i = 0; i < g.kh(); i++) {
                for (int j = 0; j < g.kw(); j++, row += g.p()) {
                    int shift = j * s.dilationW() - s.padW();
                    int lo = firstInside(shift, s.strideW(), ow), hi = endInside(shift, s.strideW(), g.w(), ow);
                    for (int oy = 0; oy < g.oh(); oy++) {
                        long dst = row + (long) oy * ow;
                        int iy = oy * s.strideH() - s.padH() + i * s.dilationH();
                        if (iy < 0 || iy >= g.h() || lo >= hi) {
                            zero(cols, dst, ow, width);
                            continue;
                        }
                        zero(cols, dst, lo, width);
                        long src = base + c * sc + iy * sh + ((long) lo * s.strideW() + shift) * sw;
                        copy(x, src, s.strideW() * sw, cols, dst + lo, hi - lo, width);
                        zero(cols, dst + hi, ow - hi, width);
                    }
                }
            }
        }
    }

    /**
     * The adjoint of {@link #im2col}: the dense image at element {@code base} of {@code dx} (float32 or float64)
     * becomes the sum, over every tap, of the column entries that read each pixel.
     */
    static void col2im(MemorySegment cols, ConvGeometry g, MemorySegment dx, long base, DType dtype) {
        var s = g.spec();
        int ow = g.ow(), width = (int) dtype.byteSize();
        long plane = g.inputPlane();
        zero(dx, base, g.c() * plane, width);
        long row = 0;
        for (int c = 0; c < g.c(); c++) {
            for (int i = 0; i < g.kh(); i++) {
                for (int j = 0; j < g.kw(); j++, row += g.p()) {
                    int shift = j * s.dilationW() - s.padW();
                    int lo = firstInside(shift, s.strideW(), ow), hi = endInside(shift, s.strideW(), g.w(), ow);
                    if (lo >= hi) continue;
                    for (int oy = 0; oy < g.oh(); oy++) {
                        int iy = oy * s.strideH() - s.padH() + i * s.dilationH();
                        if (iy < 0 || iy >= g.h()) continue;
                        long src = row + (long) oy * ow + lo;
                        long dst = base + c * plane + (long) iy * g.w() + (long) lo * s.strideW() + shift;
                        add(dtype, cols, src, dx, dst, s.strideW(), hi - lo);
                    }
                }
            }
        }
    }

    /** The first output column whose input column {@code ox * stride + shift} is not left of the image. */
    private static int firstInside(int shift, int stride, int ow) {
        return Math.min(ow, Math.max(0, Math.ceilDiv(-shift, stride)));
    }

    /** One past the last output column whose input column lies inside an image of width {@code w}. */
    private static int endInside(int shift, int stride, int w, int ow) {
        return Math.max(0, Math.min(ow, Math.floorDiv(w - 1 - shift, stride) + 1));
    }

    /** {@code dst[to + k * dstStride] += src[from + k]} for k below n, in float32 or float64. */
    static void add(DType dtype, MemorySegment src, long from, MemorySegment dst, long to, int dstStride, int n) {
        if (dtype == DType.FLOAT32) addRowF32(src, from, dst, to, dstStride, n);
        else addRowF64(src, from, dst, to, dstStride, n);
    }

    private static void addRowF32(MemorySegment src, long from, MemorySegment dst, long to, int dstStride, int n) {
        for (int k = 0; k < n; k++) {
            long d = to + (long) k * dstStride;
            dst.setAtIndex(F32, d, dst.getAtIndex(F32, d) + src.getAtIndex(F32, from + k));
        }
    }

    private static void addRowF64(MemorySegment src, long from, MemorySegment dst, long to, int dstStride, int n) {
        for (int k = 0; k < n; k++) {
            long d = to + (long) k * dstStride;
            dst.setAtIndex(F64, d, dst.getAtIndex(F64, d) + src.getAtIndex(F64, from + k));
        }
    }

    private static void copy(MemorySegment src, long from, long srcStride, MemorySegment dst, long to, int n, int width) {
        if (srcStride == 1) {
            MemorySegment.copy(src, from * width, dst, to * width, (long) n * width);
        } else if (width == 4) {
            for (int k = 0; k < n; k++) dst.setAtIndex(BITS32, to + k, src.getAtIndex(BITS32, from + k * srcStride));
        } else {
            for (int k = 0; k < n; k++) dst.setAtIndex(BITS64, to + k, src.getAtIndex(BITS64, from + k * srcStride));
        }
    }

    /** Zeros are all-zero bits in both float formats. */
    private static void zero(MemorySegment s, long from, long n, int width) {
        if (n > 0) s.asSlice(from * width, n * width).fill((byte) 0);
    }
}
