package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.View;
import dev.kiln.cpu.gemm.Gemm;
import dev.kiln.cpu.simd.HeapSlots;
import dev.kiln.cpu.simd.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * float32 3x3 convolutions at stride 1 by Winograd's minimal filtering F(2x2, 3x3): each 2x2 block of outputs (a
 * tile) comes from the 4x4 block of input under it, transformed to 16 points, each point one product over the input
 * channels with the weight transformed the same way. That is 16 multiply-adds per tile and channel pair where the
 * direct form takes 36: ResNet's 3x3 layers, their input gradients (a 3x3 convolution too) and their weight gradients
 * ({@link #backwardWeight}) do 2.25x fewer.
 *
 * <p>Per image, the padded input is copied with each row split into its even and odd columns, so that a vector of
 * consecutive tiles loads each of its 4x4 points as one vector. Tiles go in blocks sized to stay in L2: the block's
 * input transform V (16 matrices of channels x tiles), 16 GEMMs by the transformed weight packed once per call
 * (output channels x channels each) reading V in place, and the output transform of their products M back into 2x2
 * blocks of the output.
 *
 * <p>The transforms add and subtract, with halves in the weight's, so the result differs from the direct sum by a
 * few rounding steps, well inside float32's tolerance for a sum over hundreds of products; an infinite input can make
 * an output that reads it NaN (two points of opposite infinities) where the direct sum gives infinity. {@code
 * -Dkiln.cpu.conv.winograd=false} turns it off.
 */
final class WinogradConvolution {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final long FLOAT = Float.BYTES;
    private static final boolean ENABLED = Boolean.parseBoolean(System.getProperty("kiln.cpu.conv.winograd", "true"));
    /** Points of a transformed tile. */
    private static final int POINTS = 16;
    /** Input and output channels from which the transforms' cost is small beside the products saved. */
    private static final int MIN_CHANNELS = 32;
    /** Output positions computed, over those wanted, up to which the 2x2 tiles pay: a 7x7 image's tiles cover 8x8. */
    private static final double MAX_COVER = 1.2;
    /** Lanes 0, 2, 4, ... and 1, 3, 5, ... of two vectors side by side, for {@link FloatVector#selectFrom(jdk.incubator.vector.Vector, jdk.incubator.vector.Vector)}. */
    private static final FloatVector EVEN = FloatVector.zero(S).addIndex(2), ODD = EVEN.add(1f);
    /** Lanes of two vectors interleaved: the first halves, then the second halves. */
    private static final FloatVector ZIP_LOW = interleaved(0), ZIP_HIGH = interleaved(L / 2);
    /** Rows of the GEMM's A panels, which the weight gradient writes itself. */
    private static final int MR = Gemm.panelHeight(DType.FLOAT32);
    /** The lanes of one panel of A's rows. */
    private static final VectorMask<Float> PANEL = S.indexInRange(0, MR);
    /** This thread's dM, written in the panels of the weight gradient's products. */
    private static final HeapSlots PANELS = new HeapSlots(1);
    /** See {@link Tiles#point}. */
    private static final int SKEW = 16;
    /**
     * Bytes of a block's V and M (or dM) together: the size of Zen 4's L2, whose 16 products each touch only their own
     * point's matrices. ResNet-18's 64-channel layer, batch 32, two threads: forward 26.1-27.6 ms, input gradient
     * 26.2-27.6 and weight gradient 33.2-33.5 with 1 MiB, against 27.2 and 34.4-37.3 (gradients) with 512 KiB and
     * 26.1-26.8, 29.5-29.7 and 32.0-35.7 with 2 MiB.
     */
    private static final long BLOCK_BYTES = 1 << 20;

    private WinogradConvolution() {}

    private static FloatVector interleaved(int from) {
        float[] lanes = new float[L];
        for (int i = 0; i < L / 2; i++) {
            lanes[2 * i] = from + i;
            lanes[2 * i + 1] = L + from + i;
        }
        return FloatVector.fromArray(S, lanes, 0);
    }

    static boolean takes(ConvGeometry g, DType t) {
        var s = g.spec();
        // The weight gradient writes a panel of A's rows as one vector (12 rows in 16 lanes, or 6 in 8).
        if (!ENABLED || t != DType.FLOAT32 || MR > L) return false;
        if (g.groups() != 1 || g.kh() != 3 || g.kw() != 3) return false;
        if (s.strideH() != 1 || s.strideW() != 1 || s.dilationH() != 1 || s.dilationW() != 1) return false;
        if (g.c() < MIN_CHANNELS || g.cout() < MIN_CHANNELS || g.p() == 0) return false;
        Tiles tiles = Tiles.of(g);
        return 4.0 * tiles.count() <= MAX_COVER * g.p();
    }

    /**
     * An image's tiles, th rows of tw, and how its padded copy is laid out: planes of {@code 2 * th + 2} rows, each
     * row its even columns then its odd ones, {@code half} elements each.
     */
    private record Tiles(ConvGeometry g, int th, int tw, int half, int block) {
        static Tiles of(ConvGeometry g) {
            int th = Math.ceilDiv(g.oh(), 2), tw = Math.ceilDiv(g.ow(), 2), nr = Gemm.panelWidth(DType.FLOAT32);
            long perTile = POINTS * FLOAT * (g.c() + g.cout());
            int block = (int) Math.max(nr, BLOCK_BYTES / perTile / nr * nr);
            return new Tiles(g, th, tw, tw + 1, Math.min(block, Math.ceilDiv(th * tw, nr) * nr));
        }

        int count() { return th * tw; }

        int rows() { return 2 * th + 2; }

        /** Elements of a padded row: its even columns, then its odd ones. */
        int width() { return 2 * half; }

        long plane() { return (long) rows() * width(); }

        int blocks() { return Math.ceilDiv(count(), block); }

        /**
         * Elements from one point's matrix of {@code rows} x block to the next: a cache line more than the matrix, as
         * matrices a multiple of 4 KiB apart put the transforms' 16 streams in the same L1 sets (ResNet's 64 x 64 tiles
         * are 16 KiB).
         */
        long point(int rows) { return (long) rows * block + SKEW; }
    }

    static void forward(View input, MemorySegment x, View weight, MemorySegment w, ConvGeometry g, View out, MemorySegment y) {
        Tiles tiles = Tiles.of(g);
        int c = g.c(), k = g.cout();
        MemorySegment u = Scratch.get(Scratch.WEIGHT_BY_TAP, POINTS * (long) k * c * FLOAT);
        transformWeight(w, weight.offset(), k, c, u);
        long[] offsets = new long[POINTS];
        for (int i = 0; i < POINTS; i++) offsets[i] = (long) i * k * c;
        Gemm.PackedA[] weights = Gemm.packEach(DType.FLOAT32, k, c, u, offsets, c, 1);
        long[] s = input.strides();
        long outImage = (long) k * g.p();
        // Images in turn (too few to go round, or too little work) split their blocks over the pool where it pays.
        boolean splitBlocks = !Convolution.splitsOverImages(g) && g.macs() >= Convolution.PARALLEL_MACS;
        Convolution.forEachImage(g, n -> {
            MemorySegment image = copy(x, input.offset() + n * s[0], s[1], s[2], s[3], tiles);
            long to = out.offset() + n * outImage;
            if (splitBlocks) {
                WorkerPool.shared().run(tiles.blocks(), b -> block(image, tiles, weights, b, y, to));
            } else {
                for (int b = 0; b < tiles.blocks(); b++) block(image, tiles, weights, b, y, to);
            }
        });
    }

    /**
     * {@code gradWeight} by the same transforms, summed over tiles: a tile's output gradient dY (2x2) goes to 16 points
     * as dM = A dY A^T (the output transform's adjoint, A's rows (1, 0), (1, 1), (1, -1), (0, -1)), each point's
     * dU = sum over tiles of dM V^T with V the forward's input transform, and the weight gradient of each channel pair
     * is G^T dU G. The sum over tiles is the products' depth, so both transforms run over channels, from channels-last
     * copies of the padded image and the output gradient: V's tiles are then rows of channels, which the product reads
     * in place, and dM is written straight into the product's A panels. Work goes in chunks of (image, block) pairs,
     * each summing into its own partial, added in chunk order at the end.
     */
    static void backwardWeight(View input, MemorySegment x, View gradOut, MemorySegment dy, ConvGeometry g, View gradWeight,
                               MemorySegment dw) {
        Tiles tiles = Tiles.of(g);
        int c = g.c(), k = g.cout(), blocks = tiles.blocks(), items = g.n() * blocks;
        int chunks = g.macs() >= Convolution.PARALLEL_MACS
                ? Math.min(items, WorkerPool.shared().parallelism() * Convolution.CHUNKS_PER_THREAD) : 1;
        long sum = POINTS * (long) k * c;
        MemorySegment partials = Scratch.get(Scratch.PARTIALS, chunks * sum * FLOAT);
        long[] s = input.strides();
        // The output gradient as an image of k channels, for its channels-last copy.
        ConvGeometry gradient = new ConvGeometry(g.n(), k, g.oh(), g.ow(), k, 1, 1, g.oh(), g.ow(), g.spec());
        long gradImage = (long) k * g.p();
        WorkerPool.shared().run(chunks, chunk -> {
            int from = (int) ((long) items * chunk / chunks), to = (int) ((long) items * (chunk + 1) / chunks);
            MemorySegment image = null, grad = null;
            for (int item = from; item < to; item++) {
                int n = item / blocks, b = item % blocks;
                if (image == null || b == 0) {
                    image = Scratch.get(Scratch.CHANNELS_LAST, (tiles.plane() * c + L) * FLOAT);
                    Columns.toChannelsLast(x, input.offset() + n * s[0], s[1], s[2], s[3], g, tiles.rows(), tiles.width(),
                            g.spec().padH(), g.spec().padW(), image, (int) FLOAT);
                    grad = Scratch.get(Scratch.GRADIENT_BY_POSITION, (4L * tiles.th() * tiles.tw() * k + L) * FLOAT);
                    Columns.toChannelsLast(dy, gradOut.offset() + n * gradImage, g.p(), g.ow(), 1, gradient, 2 * tiles.th(),
                            2 * tiles.tw(), 0, 0, grad, (int) FLOAT);
                }
                weightBlock(image, grad, tiles, b, partials, chunk * sum, item > from);
            }
        });
        for (int chunk = 1; chunk < chunks; chunk++) Columns.add(DType.FLOAT32, partials, chunk * sum, partials, 0, 1, (int) sum);
        transformWeightGradient(partials, k, c, dw, gradWeight.offset());
    }

    /** Block b's tiles of one image, from its channels-last copies: dU (16 matrices k x c at element {@code at}) = or += dM V^T. */
    private static void weightBlock(MemorySegment image, MemorySegment grad, Tiles tiles, int b, MemorySegment sums, long at, boolean add) {
        ConvGeometry g = tiles.g();
        int c = g.c(), k = g.cout(), tw = tiles.tw(), first = b * tiles.block(), count = Math.min(tiles.block(), tiles.count() - first);
        int panelRows = Math.ceilDiv(k, MR) * MR;
        long point = tiles.point(c), imageRow = (long) tiles.width() * c * FLOAT;
        MemorySegment v = Scratch.get(Scratch.COLUMNS, (POINTS * point + L) * FLOAT);
        int pointPanels = panelRows * count + SKEW;
        float[] panels = PANELS.get(0, POINTS * pointPanels + L);
        for (int t = first; t < first + count; t++) {
            int ty = t / tw, tx = t % tw;
            long corner = ((2L * ty * tiles.width() + 2L * tx) * c) * FLOAT, column = c * FLOAT;
            long out = (long) (t - first) * c * FLOAT;
            // Pixels 2tx .. 2tx + 3 are columns 0 to 3, each c floats on: the input transform over channels.
            for (int ch = 0; ch < c; ch += L) {
                int lanes = Math.min(L, c - ch);
                long r0 = corner + ch * FLOAT, v0 = out + ch * FLOAT, step = 4 * point * FLOAT;
                inputColumn(image, r0, imageRow, 0, 2 * column, false, v, v0, step, lanes);
                inputColumn(image, r0, imageRow, column, 2 * column, true, v, v0 + point * FLOAT, step, lanes);
                inputColumn(image, r0, imageRow, 2 * column, column, false, v, v0 + 2 * point * FLOAT, step, lanes);
                inputColumn(image, r0, imageRow, column, 3 * column, false, v, v0 + 3 * point * FLOAT, step, lanes);
            }
            long pixel = (2L * ty * 2 * tw + 2L * tx) * k;
            for (int k0 = 0; k0 < k; k0 += MR)
                gradientPoints(grad, pixel + k0, 2L * tw * k, k, Math.min(MR, k - k0), panels, k0 * count + (t - first) * MR, pointPanels);
        }
        for (int i = 0; i < POINTS; i++) {
            Gemm.PackedA gradientPoint = Gemm.packed(panels, i * pointPanels, k, count);
            if (add) {
                Gemm.multiplyAdd(gradientPoint, c, v, i * point, c, 1, sums, at + (long) i * k * c, c, 1);
            } else {
                Gemm.multiply(gradientPoint, c, v, i * point, c, 1, sums, at + (long) i * k * c, c, 1);
            }
        }
    }

    /**
     * One tile's dM = A dY A^T for output channels [k0, k0 + live), at most one panel of A: dY's 2x2 block from element
     * {@code at} of the channels-last gradient (rows {@code row} elements apart, pixels {@code pixel} apart), the 16
     * points into the panels at {@code to}, {@code pointStride} apart, the panel's rows past live zero.
     */
    private static void gradientPoints(MemorySegment grad, long at, long row, long pixel, int live, float[] panels, int to, int pointStride) {
        VectorMask<Float> rows = S.indexInRange(0, live);
        FloatVector y00 = FloatVector.fromMemorySegment(S, grad, at * FLOAT, ORDER, rows);
        FloatVector y01 = FloatVector.fromMemorySegment(S, grad, (at + pixel) * FLOAT, ORDER, rows);
        FloatVector y10 = FloatVector.fromMemorySegment(S, grad, (at + row) * FLOAT, ORDER, rows);
        FloatVector y11 = FloatVector.fromMemorySegment(S, grad, (at + row + pixel) * FLOAT, ORDER, rows);
        // A dY: rows (y0j), (y0j + y1j), (y0j - y1j), (-y1j); then A^T along each: (r0, r0 + r1, r0 - r1, -r1).
        FloatVector s0 = y00.add(y10), s1 = y01.add(y11), d0 = y00.sub(y10), d1 = y01.sub(y11);
        gradientRow(y00, y01, panels, to, pointStride, PANEL);
        gradientRow(s0, s1, panels, to + 4 * pointStride, pointStride, PANEL);
        gradientRow(d0, d1, panels, to + 8 * pointStride, pointStride, PANEL);
        gradientRow(y10.neg(), y11.neg(), panels, to + 12 * pointStride, pointStride, PANEL);
    }

    private static void gradientRow(FloatVector r0, FloatVector r1, float[] panels, int to, int step, VectorMask<Float> panel) {
        r0.intoArray(panels, to, panel);
        r0.add(r1).intoArray(panels, to + step, panel);
        r0.sub(r1).intoArray(panels, to + 2 * step, panel);
        r1.neg().intoArray(panels, to + 3 * step, panel);
    }

    /** dW (k, c, 3, 3) at element {@code offset} from dU's 16 matrices k x c: G^T dU G, G^T's rows (1, 1/2, 1/2, 0), (0, 1/2, -1/2, 0), (0, 1/2, 1/2, 1). */
    private static void transformWeightGradient(MemorySegment u, int k, int c, MemorySegment dw, long offset) {
        float[] d = new float[16], z = new float[12];
        long matrix = (long) k * c;
        for (int kc = 0; kc < k * c; kc++) {
            for (int i = 0; i < POINTS; i++) d[i] = u.getAtIndex(F32, i * matrix + kc);
            for (int j = 0; j < 4; j++) {
                float d0 = d[j], d1 = d[4 + j], d2 = d[8 + j], d3 = d[12 + j];
                z[j] = d0 + 0.5f * (d1 + d2);
                z[4 + j] = 0.5f * (d1 - d2);
                z[8 + j] = 0.5f * (d1 + d2) + d3;
            }
            for (int i = 0; i < 3; i++) {
                float z0 = z[4 * i], z1 = z[4 * i + 1], z2 = z[4 * i + 2], z3 = z[4 * i + 3];
                long at = offset + 9L * kc + 3L * i;
                dw.setAtIndex(F32, at, z0 + 0.5f * (z1 + z2));
                dw.setAtIndex(F32, at + 1, 0.5f * (z1 - z2));
                dw.setAtIndex(F32, at + 2, 0.5f * (z1 + z2) + z3);
            }
        }
    }

    /**
     * The weight (k, c, 3, 3) as 16 matrices k x c, point (i, j) of each 3x3 kernel g being (G g G^T)[i][j] with G's
     * rows (1, 0, 0), (1/2, 1/2, 1/2), (1/2, -1/2, 1/2) and (0, 0, 1).
     */
    private static void transformWeight(MemorySegment w, long offset, int k, int c, MemorySegment u) {
        float[] g = new float[9], t = new float[12];
        long matrix = (long) k * c;
        for (int kc = 0; kc < k * c; kc++) {
            MemorySegment.copy(w, F32, (offset + 9L * kc) * FLOAT, g, 0, 9);
            for (int j = 0; j < 3; j++) {
                float g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
                t[j] = g0;
                t[3 + j] = 0.5f * (g0 + g1 + g2);
                t[6 + j] = 0.5f * (g0 - g1 + g2);
                t[9 + j] = g2;
            }
            for (int i = 0; i < 4; i++) {
                float t0 = t[3 * i], t1 = t[3 * i + 1], t2 = t[3 * i + 2];
                long at = ((4L * i) * matrix + kc) * FLOAT;
                u.set(F32, at, t0);
                u.set(F32, at + matrix * FLOAT, 0.5f * (t0 + t1 + t2));
                u.set(F32, at + 2 * matrix * FLOAT, 0.5f * (t0 - t1 + t2));
                u.set(F32, at + 3 * matrix * FLOAT, t2);
            }
        }
    }

    /**
     * The image at element {@code base} of {@code x}, zero-padded, its rows split into even and odd columns, in this
     * thread's scratch. Each row is padded in a heap line first, from which vectors of pairs are split in registers.
     */
    private static MemorySegment copy(MemorySegment x, long base, long sc, long sh, long sw, Tiles tiles) {
        ConvGeometry g = tiles.g();
        int half = tiles.half(), top = g.spec().padH(), left = g.spec().padW(), w = g.w(), width = tiles.width();
        long plane = tiles.plane(), tail = g.c() * plane;
        MemorySegment image = Scratch.get(Scratch.PADDED_IMAGE, (tail + L + 1) * FLOAT);
        // Zeros around the row (which is at least left + w + left wide), and room for whole vectors past its end.
        float[] line = new float[Math.ceilDiv(width, 2 * L) * 2 * L];
        for (int ch = 0; ch < g.c(); ch++)
            for (int py = 0; py < tiles.rows(); py++) {
                long row = (ch * plane + (long) py * width) * FLOAT;
                int iy = py - top;
                if (iy < 0 || iy >= g.h()) {
                    image.asSlice(row, (long) width * FLOAT).fill((byte) 0);
                    continue;
                }
                long from = base + ch * sc + iy * sh;
                if (sw == 1) {
                    MemorySegment.copy(x, F32, from * FLOAT, line, left, w);
                } else {
                    for (int ix = 0; ix < w; ix++) line[left + ix] = x.getAtIndex(F32, from + ix * sw);
                }
                for (int i = 0; i < half; i += L) {
                    FloatVector pairs0 = FloatVector.fromArray(S, line, 2 * i), pairs1 = FloatVector.fromArray(S, line, 2 * i + L);
                    FloatVector even = EVEN.selectFrom(pairs0, pairs1), odd = ODD.selectFrom(pairs0, pairs1);
                    if (half - i >= L) {
                        even.intoMemorySegment(image, row + (long) i * FLOAT, ORDER);
                        odd.intoMemorySegment(image, row + (long) (half + i) * FLOAT, ORDER);
                    } else {
                        VectorMask<Float> lanes = S.indexInRange(0, half - i);
                        even.intoMemorySegment(image, row + (long) i * FLOAT, ORDER, lanes);
                        odd.intoMemorySegment(image, row + (long) (half + i) * FLOAT, ORDER, lanes);
                    }
                }
            }
        // Vectors of the last tiles of a row load up to L elements past it: into the next row, or these zeros.
        image.asSlice(tail * FLOAT, (L + 1) * FLOAT).fill((byte) 0);
        return image;
    }

    /** Tiles [b * block, ...) of one image: input transform, 16 products, output transform into the output at element {@code to}. */
    private static void block(MemorySegment image, Tiles tiles, Gemm.PackedA[] weights, int b, MemorySegment y, long to) {
        ConvGeometry g = tiles.g();
        int c = g.c(), k = g.cout(), block = tiles.block(), first = b * block, count = Math.min(block, tiles.count() - first);
        int columns = Math.ceilDiv(count, Gemm.panelWidth(DType.FLOAT32)) * Gemm.panelWidth(DType.FLOAT32);
        MemorySegment v = Scratch.get(Scratch.COLUMNS, (POINTS * tiles.point(c) + L) * FLOAT);
        MemorySegment m = Scratch.get(Scratch.PRODUCT, (POINTS * tiles.point(k) + L) * FLOAT);
        transformInput(image, tiles, first, count, v);
        for (int i = 0; i < POINTS; i++)
            Gemm.multiply(weights[i], columns, v, i * tiles.point(c), block, 1, m, i * tiles.point(k), block, 1);
        transformOutput(m, tiles, first, count, y, to);
    }

    /**
     * V for tiles [first, first + count): point (i, j) of channel ch's tile is (B^T d B)[i][j] for its 4x4 input d,
     * B^T's rows (1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0) and (0, 1, 0, -1); at element
     * {@code (4 i + j) * point(c) + ch * block + tile - first}. A vector holds consecutive tiles of one row of tiles.
     */
    private static void transformInput(MemorySegment image, Tiles tiles, int first, int count, MemorySegment v) {
        int c = tiles.g().c(), tw = tiles.tw(), half = tiles.half(), block = tiles.block();
        long plane = tiles.plane(), row = (long) tiles.width() * FLOAT, odd = half * FLOAT, point = tiles.point(c) * FLOAT, down = 4 * point;
        for (int ch = 0; ch < c; ch++)
            for (int t = first; t < first + count; ) {
                int ty = t / tw, tx = t % tw, end = Math.min(tw, tx + first + count - t);
                long top = ch * plane * FLOAT + 2L * ty * row;
                long at = ((long) ch * block + t - first) * FLOAT;
                for (int x = tx; x < end; x += L, at += L * FLOAT) {
                    // Column j of d B, row by row: points (0, j) to (3, j) after B^T down it.
                    int lanes = Math.min(L, end - x);
                    long r0 = top + x * FLOAT;
                    inputColumn(image, r0, row, 0, FLOAT, false, v, at, down, lanes);
                    inputColumn(image, r0, row, odd, FLOAT, true, v, at + point, down, lanes);
                    inputColumn(image, r0, row, FLOAT, odd, false, v, at + 2 * point, down, lanes);
                    inputColumn(image, r0, row, odd, odd + FLOAT, false, v, at + 3 * point, down, lanes);
                }
                t += end - tx;
            }
    }

    /**
     * One column of a vector of tiles' V: column j of each row r of d B is {@code p_r +- q_r}, p and q the input
     * columns {@code 2x + j / 2 ...} at byte offsets p and q into the row (even columns, then odd ones): j = 0 is
     * d_r0 - d_r2, 1 is d_r1 + d_r2, 2 is d_r2 - d_r1 and 3 is d_r1 - d_r3. B^T down the column gives the points
     * {@code step} bytes apart. Vectors stay inside this method: one passed to a call C2 did not inline (the caller
     * grows past its inlining budget) is boxed.
     */
    private static void inputColumn(MemorySegment image, long r0, long row, long p, long q, boolean add, MemorySegment v, long at,
                                    long step, int lanes) {
        long r1 = r0 + row, r2 = r1 + row, r3 = r2 + row;
        FloatVector p0 = FloatVector.fromMemorySegment(S, image, r0 + p, ORDER), q0 = FloatVector.fromMemorySegment(S, image, r0 + q, ORDER);
        FloatVector p1 = FloatVector.fromMemorySegment(S, image, r1 + p, ORDER), q1 = FloatVector.fromMemorySegment(S, image, r1 + q, ORDER);
        FloatVector p2 = FloatVector.fromMemorySegment(S, image, r2 + p, ORDER), q2 = FloatVector.fromMemorySegment(S, image, r2 + q, ORDER);
        FloatVector p3 = FloatVector.fromMemorySegment(S, image, r3 + p, ORDER), q3 = FloatVector.fromMemorySegment(S, image, r3 + q, ORDER);
        FloatVector e0 = add ? p0.add(q0) : p0.sub(q0), e1 = add ? p1.add(q1) : p1.sub(q1);
        FloatVector e2 = add ? p2.add(q2) : p2.sub(q2), e3 = add ? p3.add(q3) : p3.sub(q3);
        if (lanes == L) {
            e0.sub(e2).intoMemorySegment(v, at, ORDER);
            e1.add(e2).intoMemorySegment(v, at + step, ORDER);
            e2.sub(e1).intoMemorySegment(v, at + 2 * step, ORDER);
            e1.sub(e3).intoMemorySegment(v, at + 3 * step, ORDER);
        } else {
            VectorMask<Float> live = S.indexInRange(0, lanes);
            e0.sub(e2).intoMemorySegment(v, at, ORDER, live);
            e1.add(e2).intoMemorySegment(v, at + step, ORDER, live);
            e2.sub(e1).intoMemorySegment(v, at + 2 * step, ORDER, live);
            e1.sub(e3).intoMemorySegment(v, at + 3 * step, ORDER, live);
        }
    }

    /**
     * The 2x2 outputs A^T M A of tiles [first, first + count) from their products M (laid out as V), A^T's rows
     * (1, 1, 1, 0) and (0, 1, -1, -1), into the output planes at element {@code to}; an odd output's last row or
     * column of tiles keeps only its first half.
     */
    private static void transformOutput(MemorySegment m, Tiles tiles, int first, int count, MemorySegment y, long to) {
        ConvGeometry g = tiles.g();
        int k = g.cout(), tw = tiles.tw(), block = tiles.block(), oh = g.oh(), ow = g.ow();
        long point = tiles.point(k) * FLOAT;
        for (int co = 0; co < k; co++)
            for (int t = first; t < first + count; ) {
                int ty = t / tw, tx = t % tw, end = Math.min(tw, tx + first + count - t);
                long at = ((long) co * block + t - first) * FLOAT;
                long row0 = to + ((long) co * oh + 2L * ty) * ow;
                boolean second = 2 * ty + 1 < oh;
                for (int x = tx; x < end; x += L, at += L * FLOAT) {
                    int outputs = Math.min(2 * Math.min(L, end - x), ow - 2 * x);
                    outputRow(m, at, point, false, y, (row0 + 2L * x) * FLOAT, outputs);
                    if (second) outputRow(m, at, point, true, y, (row0 + ow + 2L * x) * FLOAT, outputs);
                }
                t += end - tx;
            }
    }

    /**
     * One output row of a vector of tiles: row i of A^T M has t_j = m0j + m1j + m2j (i = 0) or m1j - m2j - m3j (i = 1),
     * and its two outputs per tile are t0 + t1 + t2 and t1 - t2 - t3, interleaved into {@code outputs} consecutive
     * elements from byte {@code out} of y.
     */
    private static void outputRow(MemorySegment m, long at, long point, boolean second, MemorySegment y, long out, int outputs) {
        long down = 4 * point, b0 = second ? at + down : at, b1 = b0 + down, b2 = b1 + down;
        // t_j = m[b0 + j] +- (m[b1 + j] + m[b2 + j]), column j a point apart.
        FloatVector u0 = FloatVector.fromMemorySegment(S, m, b0, ORDER), u1 = FloatVector.fromMemorySegment(S, m, b0 + point, ORDER);
        FloatVector u2 = FloatVector.fromMemorySegment(S, m, b0 + 2 * point, ORDER), u3 = FloatVector.fromMemorySegment(S, m, b0 + 3 * point, ORDER);
        FloatVector s0 = FloatVector.fromMemorySegment(S, m, b1, ORDER).add(FloatVector.fromMemorySegment(S, m, b2, ORDER));
        FloatVector s1 = FloatVector.fromMemorySegment(S, m, b1 + point, ORDER).add(FloatVector.fromMemorySegment(S, m, b2 + point, ORDER));
        FloatVector s2 = FloatVector.fromMemorySegment(S, m, b1 + 2 * point, ORDER).add(FloatVector.fromMemorySegment(S, m, b2 + 2 * point, ORDER));
        FloatVector s3 = FloatVector.fromMemorySegment(S, m, b1 + 3 * point, ORDER).add(FloatVector.fromMemorySegment(S, m, b2 + 3 * point, ORDER));
        FloatVector t0 = second ? u0.sub(s0) : u0.add(s0), t1 = second ? u1.sub(s1) : u1.add(s1);
        FloatVector t2 = second ? u2.sub(s2) : u2.add(s2), t3 = second ? u3.sub(s3) : u3.add(s3);
        FloatVector y0 = t0.add(t1).add(t2), y1 = t1.sub(t2).sub(t3);
        FloatVector low = ZIP_LOW.selectFrom(y0, y1), high = ZIP_HIGH.selectFrom(y0, y1);
        if (outputs == 2 * L) {
            low.intoMemorySegment(y, out, ORDER);
            high.intoMemorySegment(y, out + L * FLOAT, ORDER);
        } else {
            low.intoMemorySegment(y, out, ORDER, S.indexInRange(0, outputs));
            if (outputs > L) high.intoMemorySegment(y, out + L * FLOAT, ORDER, S.indexInRange(0, outputs - L));
        }
    }
}
