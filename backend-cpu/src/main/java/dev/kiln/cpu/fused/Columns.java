package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.cpu.simd.HeapSlots;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.kiln.cpu.simd.NativeSegments.typed;

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
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final int SHORT_RUN = 16;

    private Columns() {}

    /**
     * Writes the columns of the image at element {@code base} of {@code x} (channel, row and column strides
     * {@code sc, sh, sw}) into {@code cols} from element 0. Elements are moved as raw bits of {@code width} bytes.
     */
    static void im2col(MemorySegment x, long base, long sc, long sh, long sw, ConvGeometry g, MemorySegment cols, int width) {
        im2col(x, base, sc, sh, sw, g, cols, 0, g.p(), width);
    }

    /** {@link #im2col} into a wider matrix: row r of the columns from element {@code at + r * rowStride} of {@code cols}. */
    static void im2col(MemorySegment x, long base, long sc, long sh, long sw, ConvGeometry g, MemorySegment cols, long at,
                       long rowStride, int width) {
        var s = g.spec();
        int ow = g.ow();
        long row = at;
        for (int c = 0; c < g.c(); c++) {
            for (int i = 0; i < g.kh(); i++) {
                for (int j = 0; j < g.kw(); j++, row += rowStride) {
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

    /**
     * The image at element {@code base} of {@code x} (strides {@code sc, sh, sw}) zero-padded, from element {@code to}
     * of {@code dst}: c planes of hp rows of wp elements, the image padH rows down and padW columns in, zeros around it.
     * All planes are zeroed first, in one fill: zeroing only the borders, a few elements at a time at each row's
     * ends, made LeNet's second layer's input gradient 1.5x slower.
     */
    static void pad(MemorySegment x, long base, long sc, long sh, long sw, ConvGeometry g, int hp, int wp,
                    MemorySegment dst, long to, int width) {
        int top = g.spec().padH(), left = g.spec().padW();
        dst.asSlice(to * width, (long) g.c() * hp * wp * width).fill((byte) 0);
        for (int ch = 0; ch < g.c(); ch++)
            for (int y = 0; y < g.h(); y++)
                copy(x, base + ch * sc + y * sh, sw, dst, to + ((long) ch * hp + top + y) * wp + left, g.w(), width);
    }

    /** The image at element {@code base} of {@code x} transposed to a dense (h * w, c) matrix: channels last. */
    static void toChannelsLast(MemorySegment x, long base, long sc, long sh, long sw, ConvGeometry g, MemorySegment dst, int width) {
        toChannelsLast(x, base, sc, sh, sw, g, g.h(), g.w(), 0, 0, dst, width);
    }

    /**
     * The image at element {@code base} of {@code x} transposed to channels last and zero-padded: a dense (hp * wp, c)
     * matrix, the image {@code top} rows down and {@code left} columns in, zeros around it.
     */
    static void toChannelsLast(MemorySegment x, long base, long sc, long sh, long sw, ConvGeometry g, int hp, int wp,
                               int top, int left, MemorySegment dst, int width) {
        int c = g.c(), right = wp - left - g.w();
        if (hp != g.h() || wp != g.w()) {
            zero(dst, 0, ((long) top * wp + left) * c, width);
            for (int y = 0; y < g.h(); y++) {
                long end = ((long) (top + y) * wp + left + g.w()) * c;
                zero(dst, end, (right + (y + 1 < g.h() ? left : (long) (hp - top - g.h()) * wp)) * c, width);
            }
        }
        if (width == 4 && sw == 1 && c >= FS.length() && g.w() >= FS.length()) {
            transposeBlocks(x, base, sc, sh, c, g.h(), g.w(), dst, ((long) top * wp + left) * c, (long) wp * c);
            return;
        }
        // Pixel by pixel, all channels of each: the stores run on, and the loads come from one line per channel,
        // which stays in L1 for the next pixels. Channel by channel, each store touched another line of a 200 KB image.
        for (int y = 0; y < g.h(); y++) {
            for (int xi = 0; xi < g.w(); xi++) {
                long src = base + y * sh + xi * sw, to = ((long) (top + y) * wp + left + xi) * c;
                if (width == 4) {
                    for (int ch = 0; ch < c; ch++) dst.setAtIndex(BITS32, to + ch, x.getAtIndex(BITS32, src + ch * sc));
                } else {
                    for (int ch = 0; ch < c; ch++) dst.setAtIndex(BITS64, to + ch, x.getAtIndex(BITS64, src + ch * sc));
                }
            }
        }
    }

    /**
     * A float32 image of {@code rows} rows of {@code pixels} (at least L) and c channels ({@code sc} apart) into
     * channels-last rows from element {@code to}, {@code dstRow} apart: per block of L channels by L pixels, each
     * channel's run loaded as one vector into a heap tile and each pixel's channels gathered from it as one vector; the
     * last block of a row ends at the row's end, overlapping the one before. Blocks of channels go outermost, so that L
     * channel planes stream at a time: row by row across all 64 channels of a ResNet layer, the loads missed the
     * prefetchers and the copies took 38% of Winograd's weight gradient. Channels past the last whole vector go one by
     * one.
     */
    private static void transposeBlocks(MemorySegment x, long base, long sc, long sh, int c, int rows, int pixels, MemorySegment dst,
                                        long to, long dstRow) {
        x = typed(x);
        dst = typed(dst);
        int fl = FS.length(), blocked = c / fl * fl;
        float[] tile = TILE.get(0, fl * fl);
        for (int ch = 0; ch < blocked; ch += fl)
            for (int y = 0; y < rows; y++) {
                long row = base + y * sh, out = to + y * dstRow;
                for (int next = 0; next < pixels; next += fl) {
                    int x0 = Math.min(next, pixels - fl);
                    for (int i = 0; i < fl; i++)
                        FloatVector.fromMemorySegment(FS, x, (row + (ch + i) * sc + x0) * Float.BYTES, ORDER).intoArray(tile, i * fl);
                    for (int j = 0; j < fl; j++)
                        FloatVector.fromArray(FS, tile, j, TILE_COLUMN, 0).intoMemorySegment(dst, (out + (long) (x0 + j) * c + ch) * Float.BYTES, ORDER);
                }
            }
        for (int ch = blocked; ch < c; ch++)
            for (int y = 0; y < rows; y++)
                for (int j = 0; j < pixels; j++) dst.setAtIndex(F32, to + y * dstRow + (long) j * c + ch, x.getAtIndex(F32, base + y * sh + ch * sc + j));
    }

    /** This thread's tile for {@link #transposeBlocks}. */
    private static final HeapSlots TILE = new HeapSlots(1);
    /** Lane i of a tile's column: element i * L. */
    private static final int[] TILE_COLUMN = java.util.stream.IntStream.range(0, FS.length()).map(i -> i * FS.length()).toArray();

    /**
     * The columns transposed, from a channels-last image: one row per output position, holding for each group,
     * each tap (kh, kw) in turn, that group's channels at the tap's pixel (zeros outside the image). Row length is
     * c * kh * kw, and a group's block of each row is that group's (tap, channel) vector.
     */
    static void im2rowChannelsLast(MemorySegment image, ConvGeometry g, MemorySegment rows, int width) {
        int cg = g.cg();
        forEachTapRun(g, (run, pixel) -> {
            if (pixel < 0) zero(rows, run, cg, width);
            else copy(image, pixel, 1, rows, run, cg, width);
        });
    }

    /**
     * The adjoint of {@link #im2rowChannelsLast}: the channels-last image (h * w, c), zeroed, then for every row (output
     * position), group and tap inside the image, that tap's run of the group's channels added at its pixel. The runs
     * are whole vectors of channels where a strided col2im adds rows of a few pixels.
     */
    static void row2imChannelsLast(MemorySegment rows, ConvGeometry g, MemorySegment image, DType dtype) {
        int cg = g.cg();
        zero(image, 0, (long) g.c() * g.inputPlane(), (int) dtype.byteSize());
        forEachTapRun(g, (run, pixel) -> {
            if (pixel >= 0) add(dtype, rows, run, image, pixel, 1, cg);
        });
    }

    /** A group's channel run for one tap at one output position: where it starts in the rows and in the image. */
    private interface TapRun {
        /** @param pixel the element where the run's channels start in the channels-last image, or -1 outside it */
        void at(long run, long pixel);
    }

    /** Every output position, group and tap of g in the order of {@link #im2rowChannelsLast}'s rows. */
    private static void forEachTapRun(ConvGeometry g, TapRun visit) {
        var s = g.spec();
        int c = g.c(), cg = g.cg(), taps = g.kh() * g.kw();
        long rowLength = (long) c * taps, at = 0;
        for (int oy = 0; oy < g.oh(); oy++) {
            for (int ox = 0; ox < g.ow(); ox++, at += rowLength) {
                for (int gi = 0; gi < g.groups(); gi++) {
                    long run = at + (long) gi * cg * taps;
                    for (int i = 0; i < g.kh(); i++) {
                        int iy = oy * s.strideH() - s.padH() + i * s.dilationH();
                        for (int j = 0; j < g.kw(); j++, run += cg) {
                            int ix = ox * s.strideW() - s.padW() + j * s.dilationW();
                            boolean inside = iy >= 0 && iy < g.h() && ix >= 0 && ix < g.w();
                            visit.at(run, inside ? ((long) iy * g.w() + ix) * c + (long) gi * cg : -1);
                        }
                    }
                }
            }
        }
    }

    /** {@code dst[base + ch * plane + pixel] = image[pixel * c + ch]}: a channels-last image back in channel order. */
    static void fromChannelsLast(MemorySegment image, ConvGeometry g, MemorySegment dst, long base, int width) {
        int c = g.c();
        long plane = g.inputPlane();
        for (int ch = 0; ch < c; ch++) {
            long to = base + ch * plane;
            for (long pixel = 0; pixel < plane; pixel++) {
                if (width == 4) dst.setAtIndex(BITS32, to + pixel, image.getAtIndex(BITS32, pixel * c + ch));
                else dst.setAtIndex(BITS64, to + pixel, image.getAtIndex(BITS64, pixel * c + ch));
            }
        }
    }

    /**
     * {@code dst[co][tap * cg + ch] = w[co][ch][tap]}, dense from element 0: each output channel's weights in the
     * (tap, channel) order of {@link #im2rowChannelsLast}'s rows, for the dense weight at element {@code base} of {@code w}.
     */
    static void weightChannelsLast(MemorySegment w, long base, ConvGeometry g, MemorySegment dst, int width) {
        int cg = g.cg(), taps = g.kh() * g.kw();
        rearrange(w, base, dst, (long) g.cout() * g.k(), width, (src, out, words) -> {
            int to = 0;
            for (int co = 0; co < g.cout(); co++)
                for (int tap = 0; tap < taps; tap++)
                    for (int ch = 0; ch < cg; ch++, to += words) move(src, ((co * cg + ch) * taps + tap) * words, out, to, words);
        });
    }

    /**
     * {@code dw[co][ch][i][j] = sum over the partials of partial[co][(i * kw + j) * cg + ch]}: the channels-last
     * weight gradients of {@code count} chunks, summed and put back in the weight's order.
     */
    static void sumChannelsLast(MemorySegment partials, int count, ConvGeometry g, MemorySegment dw, long base, DType dtype) {
        int cg = g.cg(), taps = g.kh() * g.kw();
        long size = (long) g.cout() * g.k();
        for (int part = 1; part < count; part++) add(dtype, partials, part * size, partials, 0, 1, (int) size);
        rearrange(partials, 0, dw.asSlice(base * dtype.byteSize()), size, (int) dtype.byteSize(), (src, out, words) -> {
            int to = 0;
            for (int co = 0; co < g.cout(); co++)
                for (int ch = 0; ch < cg; ch++)
                    for (int tap = 0; tap < taps; tap++, to += words) move(src, (co * g.k() + tap * cg + ch) * words, out, to, words);
        });
    }

    /**
     * The weight of the input gradient's convolution at stride 1: {@code dst[g * cg + c][co][i][j] =
     * w[g * coutG + co][c][kh - 1 - i][kw - 1 - j]}, dense from element 0, for the dense weight at element
     * {@code base} of {@code w}. Elements are moved as raw bits of {@code width} bytes.
     */
    static void flipWeight(MemorySegment w, long base, ConvGeometry g, MemorySegment dst, int width) {
        int cg = g.cg(), coutG = g.coutG(), taps = g.kh() * g.kw();
        rearrange(w, base, dst, (long) g.cout() * g.k(), width, (src, out, words) -> {
            int to = 0;
            for (int gi = 0; gi < g.groups(); gi++)
                for (int c = 0; c < cg; c++)
                    for (int co = 0; co < coutG; co++) {
                        int last = ((gi * coutG + co) * cg + c) * taps + taps - 1;
                        for (int tap = 0; tap < taps; tap++, to += words) move(src, (last - tap) * words, out, to, words);
                    }
        });
    }

    /** Two heap slots per thread for {@link #rearrange}: a weight copied in, and its permutation. */
    private static final HeapSlots WEIGHTS = new HeapSlots(2);

    /** A permutation of a weight's elements, each {@code words} floats' worth of bits in heap copies of it. */
    private interface Permutation {
        void apply(float[] src, float[] dst, int words);
    }

    private static void move(float[] src, int from, float[] dst, int to, int words) {
        dst[to] = src[from];
        if (words == 2) dst[to + 1] = src[from + 1];
    }

    /**
     * {@code count} elements of {@code width} bytes from element {@code base} of {@code src}, permuted into {@code dst}
     * from element 0, through this thread's heap arrays as raw bits: element by element between segments (two checked
     * scalar accesses each), a 512 x 512 x 3 x 3 weight took a third of its layer's input gradient. Arrays allocated
     * per call were slower still (9.4 MB each, zeroed).
     */
    private static void rearrange(MemorySegment src, long base, MemorySegment dst, long count, int width, Permutation permutation) {
        int words = width / Float.BYTES, n = Math.toIntExact(count * words);
        float[] in = WEIGHTS.get(0, n), out = WEIGHTS.get(1, n);
        MemorySegment.copy(src, F32, base * width, in, 0, n);
        permutation.apply(in, out, words);
        MemorySegment.copy(out, 0, dst, F32, 0, n);
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
        dst = typed(dst);
        src = typed(src);
        int k = 0;
        if (dstStride == 1) {
            for (int bound = FS.loopBound(n); k < bound; k += FS.length()) {
                long s = (from + k) * Float.BYTES, d = (to + k) * Float.BYTES;
                FloatVector.fromMemorySegment(FS, dst, d, ORDER).add(FloatVector.fromMemorySegment(FS, src, s, ORDER))
                        .intoMemorySegment(dst, d, ORDER);
            }
        }
        for (; k < n; k++) {
            long d = to + (long) k * dstStride;
            dst.setAtIndex(F32, d, dst.getAtIndex(F32, d) + src.getAtIndex(F32, from + k));
        }
    }

    private static void addRowF64(MemorySegment src, long from, MemorySegment dst, long to, int dstStride, int n) {
        dst = typed(dst);
        src = typed(src);
        int k = 0;
        if (dstStride == 1) {
            for (int bound = DS.loopBound(n); k < bound; k += DS.length()) {
                long s = (from + k) * Double.BYTES, d = (to + k) * Double.BYTES;
                DoubleVector.fromMemorySegment(DS, dst, d, ORDER).add(DoubleVector.fromMemorySegment(DS, src, s, ORDER))
                        .intoMemorySegment(dst, d, ORDER);
            }
        }
        for (; k < n; k++) {
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

    /** Zeros are all-zero bits in both float formats. A short run is cheaper stored than sliced and filled. */
    private static void zero(MemorySegment s, long from, long n, int width) {
        if (n > SHORT_RUN) {
            s.asSlice(from * width, n * width).fill((byte) 0);
        } else if (width == 4) {
            for (long k = 0; k < n; k++) s.setAtIndex(BITS32, from + k, 0);
        } else {
            for (long k = 0; k < n; k++) s.setAtIndex(BITS64, from + k, 0L);
        }
    }
}
