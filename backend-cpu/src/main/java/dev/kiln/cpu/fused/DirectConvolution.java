package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.HeapSlots;
import dev.kiln.cpu.simd.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.kiln.cpu.simd.NativeSegments.typed;

/**
 * float32 convolutions with few output channels (LeNet's 1 -> 6 and 6 -> 16 and their input gradients, the MNIST
 * CNN's stride-2 1 -> 16 and 16 -> 32), computed straight from a zero-padded copy of each image: no column matrix, no
 * packing.
 *
 * <p>Why: the column path makes a GEMM of (cout x k) by (k x positions) per image. With cout = 6 most of a 12-row
 * micro-tile is padding, and im2col writes k = cin * kh * kw copies of the image that the GEMM then packs again;
 * LeNet's convolutions ran at a third of PyTorch's speed that way. Here an output row is a few vectors of
 * positions, and each vector of input pixels, loaded once per tap, is multiplied into {@link #CO_BLOCK} output
 * channels' accumulators (the weights broadcast), so there are 8 multiply-adds per load and nothing is written
 * but the output. The weight gradient instead runs a vector over the output channels (see {@link #backwardWeight}).
 *
 * <p>Where the output channels fill whole vectors (16 on LeNet's second layer), the forward pass runs the vector
 * over them instead (see {@link #forwardByChannels}): no lane is padding there, where 10-wide rows fill 10 of 16.
 * That form, and the weight gradient's, read each output position's pixels one by one, so they take any stride;
 * strided convolutions come here only in it. Through columns, a stride-2 layer's im2col copied rows of 7 or 14
 * pixels, too short for vectors, and that copy and its col2im were a third of the MNIST CNN's training time.
 *
 * <p>Rows are whole vectors, without masks: the padded copy is wide enough for a vector at any output column, and
 * the forward pass writes rows padded to whole vectors into scratch.
 */
final class DirectConvolution {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final long FLOAT = Float.BYTES;
    /** Output channels per forward accumulator block. */
    static final int CO_BLOCK = 8;
    /** Taps per weight-gradient block: four accumulator vectors, five loads per four multiply-adds. */
    private static final int TAP_BLOCK = 4;
    /** Two floats as one long lane, for {@link #weightPairBlock}. */
    private static final VectorSpecies<Long> PAIRS = VectorSpecies.of(long.class, S.vectorShape());
    private static final ValueLayout.OfLong PAIR = ValueLayout.JAVA_LONG_UNALIGNED;
    /**
     * This thread's heap arrays, one per slot, grown to fit and reused so a training step allocates none: the padded
     * images ({@link Padded#copyToHeap}), one image's output of {@link #forwardByChannels}, and the output gradients
     * before and after {@link Padded#gradientByPosition} transposes them.
     */
    private static final HeapSlots HEAP = new HeapSlots(4);
    private static final int IMAGES = 0, OUTPUT = 1, GRADIENT_IN = 2, GRADIENT_OUT = 3;
    /**
     * Output channels up to which this path is taken: beyond two forward blocks the GEMM's 12-row tiles are full
     * and the column path, whose packed panels reuse each loaded pixel across more channels, is as fast.
     */
    static final int MAX_COUT = 16;
    /** Input channels times taps up to which this path is taken: deeper products amortise the column matrix. */
    static final int MAX_DEPTH = 400;
    /** Output channels up to which a strided convolution is taken (whole vectors of them, see {@link #forwardByChannels}). */
    static final int MAX_STRIDED_COUT = 32;

    private DirectConvolution() {}

    /**
     * Whether this path computes the convolution of g (in dtype t) and its weight gradient: float32, one group, few
     * channels, a shallow product; at stride 1 rows at least half a vector wide, else whole vectors of output channels.
     */
    static boolean takes(ConvGeometry g, DType t) {
        var s = g.spec();
        if (t != DType.FLOAT32 || s.groups() != 1 || g.k() > MAX_DEPTH) return false;
        if (strided(g)) return g.cout() % L == 0 && g.cout() <= MAX_STRIDED_COUT;
        return g.cout() <= MAX_COUT && g.ow() >= L / 2;
    }

    private static boolean strided(ConvGeometry g) { return g.spec().strideH() != 1 || g.spec().strideW() != 1; }

    /**
     * Whether a convolution with this many output channels uses more than half of the multiply-adds the forward
     * kernel spends: it computes whole blocks of {@link #CO_BLOCK} channels whatever their number, so one channel
     * costs as much as eight.
     */
    static boolean fillsBlocks(int cout) { return 2 * cout > Math.ceilDiv(cout, CO_BLOCK) * CO_BLOCK; }

    /** {@code out = conv2d(input, weight)}; weight and out dense, input any strides. */
    static void forward(View input, MemorySegment x, View weight, MemorySegment w, ConvGeometry g, View out, MemorySegment y) {
        if (g.cout() % L == 0) {
            forwardByChannels(input, x, weight, w, g, out, y);
            return;
        }
        int blocks = Math.ceilDiv(g.cout(), CO_BLOCK), taps = g.k();
        // Weights by block, tap, then the block's channels (zero past cout): one broadcast per channel and tap.
        float[] wb = new float[blocks * taps * CO_BLOCK];
        for (int co = 0; co < g.cout(); co++) {
            for (int t = 0; t < taps; t++) {
                wb[((co / CO_BLOCK) * taps + t) * CO_BLOCK + co % CO_BLOCK] = w.getAtIndex(F32, weight.offset() + (long) co * taps + t);
            }
        }
        Padded p = Padded.of(g);
        long plane = g.p();
        Convolution.forEachImage(g, n -> {
            MemorySegment image = p.copy(input, x, n);
            for (int b = 0; b < blocks; b++) {
                int channels = Math.min(CO_BLOCK, g.cout() - b * CO_BLOCK);
                long yBase = out.offset() + ((long) n * g.cout() + (long) b * CO_BLOCK) * plane;
                // The block is computed into scratch rows of owp floats, then its rows copied out: no masked store in
                // the loop (C1 compiles such a loop badly, and the uncompiled kernel is what runs until C2 is done). A
                // block of at most 6 channels (LeNet's first layer, its second's input gradient) skips the last two
                // accumulators, a test C2 unswitches out of the loop: 0.22-0.24 against 0.26-0.33 ms for LeNet's
                // first layer, 0.60-0.91 against 0.77-1.06 for the second's input gradient (two Zen 4 cores, four
                // alternating runs each).
                long tilePlane = (long) g.oh() * p.owp;
                MemorySegment tile = Scratch.get(Scratch.OUTPUT_TILE, CO_BLOCK * tilePlane * FLOAT);
                forwardBlock(image, p, g, wb, b * taps * CO_BLOCK, channels > CO_BLOCK - 2, tile, tilePlane);
                for (int j = 0; j < channels; j++) {
                    for (int oy = 0; oy < g.oh(); oy++) {
                        MemorySegment.copy(tile, (j * tilePlane + (long) oy * p.owp) * FLOAT, y, (yBase + j * plane + (long) oy * g.ow()) * FLOAT,
                                g.ow() * FLOAT);
                    }
                }
            }
        });
    }

    /** Output positions per block of {@link #forwardByChannels}: one accumulator vector each. */
    private static final int POSITIONS = 12;

    /**
     * The forward pass with a vector over the output channels, for channel counts that fill whole vectors (LeNet's
     * second layer: 16): each tap's weights for a vector of channels, loaded once, times the broadcast pixel of each of
     * {@link #POSITIONS} output positions (consecutive in the plane, across rows), so no lane is padding, where the
     * position-vectorised kernel fills 10 of 16 lanes on that layer's 10-wide rows. Each image's output is gathered on
     * the heap by channel and copied out whole.
     */
    private static void forwardByChannels(View input, MemorySegment x, View weight, MemorySegment w, ConvGeometry g, View out, MemorySegment y) {
        int cout = g.cout(), taps = g.k(), plane = g.p();
        // Weights by tap, then output channel: one vector load per channel vector and tap.
        float[] wt = new float[taps * cout];
        for (int co = 0; co < cout; co++)
            for (int t = 0; t < taps; t++) wt[t * cout + co] = w.getAtIndex(F32, weight.offset() + (long) co * taps + t);
        Padded p = Padded.of(g);
        var s = g.spec();
        int rowStep = s.strideH() * p.wp, colStep = s.strideW();
        int[] tapAt = new int[taps];
        for (int ci = 0, t = 0; ci < g.c(); ci++)
            for (int ky = 0; ky < g.kh(); ky++)
                for (int kx = 0; kx < g.kw(); kx++, t++) tapAt[t] = (ci * p.hp + ky * s.dilationH()) * p.wp + kx * s.dilationW();
        Convolution.forEachImage(g, n -> {
            float[] image = p.copyToHeap(input, x, n, 1);
            int[] at = new int[POSITIONS];
            float[] tile = new float[POSITIONS * L];
            // The image's output is gathered on the heap and copied out whole: element by element into the segment,
            // the copy-out took a quarter of LeNet's second layer.
            float[] result = HEAP.get(OUTPUT, cout * plane);
            for (int q0 = 0; q0 < plane; q0 += POSITIONS) {
                for (int j = 0; j < POSITIONS; j++) {
                    int q = Math.min(q0 + j, plane - 1);
                    at[j] = (q / g.ow()) * rowStep + (q % g.ow()) * colStep;
                }
                for (int cv = 0; cv < cout; cv += L) {
                    channelBlock(image, at, tapAt, wt, cout, cv, tile);
                    for (int j = 0; j < POSITIONS && q0 + j < plane; j++)
                        for (int c = 0; c < L; c++) result[(cv + c) * plane + q0 + j] = tile[j * L + c];
                }
            }
            MemorySegment.copy(result, 0, y, F32, (out.offset() + (long) n * cout * plane) * FLOAT, cout * plane);
        });
    }

    /**
     * One vector of output channels at {@link #POSITIONS} positions (pixel offsets {@code at}) into {@code tile}, by
     * position. Twelve named accumulators on purpose: held in an array, C2 boxes the vectors (see the GEMM tile).
     */
    private static void channelBlock(float[] image, int[] at, int[] tapAt, float[] wt, int cout, int cv, float[] tile) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        int p0 = at[0], p1 = at[1], p2 = at[2], p3 = at[3], p4 = at[4], p5 = at[5], p6 = at[6], p7 = at[7], p8 = at[8], p9 = at[9],
                p10 = at[10], p11 = at[11];
        for (int t = 0; t < tapAt.length; t++) {
            FloatVector wv = FloatVector.fromArray(S, wt, t * cout + cv);
            int o = tapAt[t];
            a0 = wv.fma(FloatVector.broadcast(S, image[p0 + o]), a0);
            a1 = wv.fma(FloatVector.broadcast(S, image[p1 + o]), a1);
            a2 = wv.fma(FloatVector.broadcast(S, image[p2 + o]), a2);
            a3 = wv.fma(FloatVector.broadcast(S, image[p3 + o]), a3);
            a4 = wv.fma(FloatVector.broadcast(S, image[p4 + o]), a4);
            a5 = wv.fma(FloatVector.broadcast(S, image[p5 + o]), a5);
            a6 = wv.fma(FloatVector.broadcast(S, image[p6 + o]), a6);
            a7 = wv.fma(FloatVector.broadcast(S, image[p7 + o]), a7);
            a8 = wv.fma(FloatVector.broadcast(S, image[p8 + o]), a8);
            a9 = wv.fma(FloatVector.broadcast(S, image[p9 + o]), a9);
            a10 = wv.fma(FloatVector.broadcast(S, image[p10 + o]), a10);
            a11 = wv.fma(FloatVector.broadcast(S, image[p11 + o]), a11);
        }
        a0.intoArray(tile, 0);
        a1.intoArray(tile, L);
        a2.intoArray(tile, 2 * L);
        a3.intoArray(tile, 3 * L);
        a4.intoArray(tile, 4 * L);
        a5.intoArray(tile, 5 * L);
        a6.intoArray(tile, 6 * L);
        a7.intoArray(tile, 7 * L);
        a8.intoArray(tile, 8 * L);
        a9.intoArray(tile, 9 * L);
        a10.intoArray(tile, 10 * L);
        a11.intoArray(tile, 11 * L);
    }

    /** All CO_BLOCK channels of one block into the tile: channel j's row oy at element {@code j * plane + oy * owp}. */
    private static void forwardBlock(MemorySegment image, Padded p, ConvGeometry g, float[] wb, int wBase, boolean full, MemorySegment y,
                                     long plane) {
        image = typed(image);
        y = typed(y);
        int oh = g.oh(), kh = g.kh(), kw = g.kw(), c = g.c(), wp = p.wp, hp = p.hp;
        long dh = (long) g.spec().dilationH() * wp * FLOAT, dw = g.spec().dilationW() * FLOAT;
        for (int oy = 0; oy < oh; oy++) {
            for (int x0 = 0; x0 < p.owp; x0 += L) {
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
                int wi = wBase;
                for (int ci = 0; ci < c; ci++) {
                    long row = ((long) (ci * hp + oy) * wp + x0) * FLOAT;
                    for (int ky = 0; ky < kh; ky++, row += dh) {
                        long at = row;
                        for (int kx = 0; kx < kw; kx++, at += dw, wi += CO_BLOCK) {
                            FloatVector v = FloatVector.fromMemorySegment(S, image, at, ORDER);
                            a0 = v.fma(FloatVector.broadcast(S, wb[wi]), a0);
                            a1 = v.fma(FloatVector.broadcast(S, wb[wi + 1]), a1);
                            a2 = v.fma(FloatVector.broadcast(S, wb[wi + 2]), a2);
                            a3 = v.fma(FloatVector.broadcast(S, wb[wi + 3]), a3);
                            a4 = v.fma(FloatVector.broadcast(S, wb[wi + 4]), a4);
                            a5 = v.fma(FloatVector.broadcast(S, wb[wi + 5]), a5);
                            if (full) {
                                a6 = v.fma(FloatVector.broadcast(S, wb[wi + 6]), a6);
                                a7 = v.fma(FloatVector.broadcast(S, wb[wi + 7]), a7);
                            }
                        }
                    }
                }
                long o = ((long) oy * p.owp + x0) * FLOAT, step = plane * FLOAT;
                a0.intoMemorySegment(y, o, ORDER);
                a1.intoMemorySegment(y, o + step, ORDER);
                a2.intoMemorySegment(y, o + 2 * step, ORDER);
                a3.intoMemorySegment(y, o + 3 * step, ORDER);
                a4.intoMemorySegment(y, o + 4 * step, ORDER);
                a5.intoMemorySegment(y, o + 5 * step, ORDER);
                a6.intoMemorySegment(y, o + 6 * step, ORDER);
                a7.intoMemorySegment(y, o + 7 * step, ORDER);
            }
        }
    }

    /**
     * {@code gradWeight = conv2d's gradient by its weight}; gradOut and gradWeight dense, input any strides, with a
     * vector over the output channels (all of LeNet's 16 in one), so each product is one broadcast pixel times a vector
     * of output-gradient values at one position, summed over positions into accumulators that stay vectors: no
     * horizontal reductions, and an image's pixels and gradients stay in L1 while all its taps run. (Vectorised over
     * positions instead, layer 2's 10-wide rows filled 10 of 16 lanes and every block ended in 8 lane reductions:
     * 1.1 ms of LeNet's 5.1 ms step.) Chunks of images run in parallel, each summing its images into a partial in
     * image order; the partials are added in chunk order, so the result depends only on the pool's size.
     */
    static void backwardWeight(View input, MemorySegment x, View gradOut, MemorySegment dy, ConvGeometry g,
                               View gradWeight, MemorySegment dw) {
        // With at most half a vector of output channels (LeNet's first layer: 6), a vector holds two neighbouring
        // positions of them, so each multiply-add does twice the work (layer 1: 0.46 against 0.29 ms single).
        boolean pairs = 2 * g.cout() <= L && g.ow() % 2 == 0 && !strided(g);
        int taps = g.kh() * g.kw(), tapSlots = Math.ceilDiv(taps, TAP_BLOCK) * TAP_BLOCK;
        int channels = pairs ? L : Math.ceilDiv(g.cout(), L) * L, width = pairs ? L / 2 : channels;
        WorkerPool pool = WorkerPool.shared();
        int wanted = g.macs() >= Convolution.PARALLEL_MACS ? pool.parallelism() : 1;
        int per = Math.ceilDiv(g.n(), wanted), chunks = Math.ceilDiv(g.n(), per);
        float[][] partial = new float[chunks][g.c() * tapSlots * channels];
        Padded p = Padded.of(g);
        pool.run(chunks, chunk -> {
            int first = chunk * per, count = Math.min(g.n(), first + per) - first;
            float[] images = p.copyToHeap(input, x, first, count);
            MemorySegment byPosition = p.gradientByPosition(dy, gradOut.offset() + (long) first * g.cout() * g.p(), count, width, pairs);
            weightImages(images, p, g, byPosition, count, channels, width, pairs, partial[chunk]);
        });
        float[] total = partial[0];
        for (int chunk = 1; chunk < chunks; chunk++)
            for (int i = 0; i < total.length; i++) total[i] += partial[chunk][i];
        // total holds (input channel, tap slot) rows of output channels (in pairs: each channel's two lanes, even and
        // odd positions); the gradient is (cout, cin, kh, kw).
        for (int co = 0; co < g.cout(); co++)
            for (int ci = 0; ci < g.c(); ci++)
                for (int t = 0; t < taps; t++) {
                    int row = (ci * tapSlots + t) * channels;
                    float v = pairs ? total[row + 2 * co] + total[row + 2 * co + 1] : total[row + co];
                    dw.setAtIndex(F32, gradWeight.offset() + ((long) co * g.c() + ci) * taps + t, v);
                }
    }

    /**
     * Adds, for {@code count} padded images and their output gradients by position ({@code width} floats per position,
     * zero past cout), sum[(ci * tapSlots + t) * channels + lane] += x[ci, position + tap t] * dy[position, lane] over
     * every output position (in pairs, lane 2 co + parity takes the positions of that parity). Taps come in blocks of
     * {@link #TAP_BLOCK}; a block's slots past the last tap repeat it, and those rows are never read.
     */
    private static void weightImages(float[] images, Padded p, ConvGeometry g, MemorySegment byPosition, int count, int channels, int width,
                                     boolean pairs, float[] sum) {
        int taps = g.kh() * g.kw(), tapSlots = Math.ceilDiv(taps, TAP_BLOCK) * TAP_BLOCK;
        int[] tapAt = new int[tapSlots];
        for (int t = 0; t < tapSlots; t++) {
            int tap = Math.min(t, taps - 1);
            tapAt[t] = (tap / g.kw()) * g.spec().dilationH() * p.wp + (tap % g.kw()) * g.spec().dilationW();
        }
        MemorySegment pixels = MemorySegment.ofArray(images);
        int rowStep = g.spec().strideH() * p.wp, colStep = g.spec().strideW();
        long imageFloats = p.imageFloats(), positionsBytes = (long) g.p() * width * FLOAT;
        for (int n = 0; n < count; n++) {
            for (int ci = 0; ci < g.c(); ci++) {
                int plane = (int) (n * imageFloats + (long) ci * p.hp * p.wp);
                for (int t = 0; t < tapSlots; t += TAP_BLOCK) {
                    if (pairs) {
                        weightPairBlock(pixels, plane, p.wp, g.oh(), g.ow(), tapAt[t], tapAt[t + 1], tapAt[t + 2], tapAt[t + 3],
                                byPosition, n * positionsBytes, sum, (ci * tapSlots + t) * channels, channels);
                        continue;
                    }
                    for (int cv = 0; cv < channels; cv += L) {
                        weightBlock(images, plane, rowStep, colStep, g.oh(), g.ow(), tapAt[t], tapAt[t + 1], tapAt[t + 2], tapAt[t + 3],
                                byPosition, n * positionsBytes + (long) cv * FLOAT, (long) width * FLOAT, sum, (ci * tapSlots + t) * channels + cv, channels);
                    }
                }
            }
        }
    }

    /**
     * {@link #weightBlock} for two neighbouring positions per vector: each tap's two pixels, read as one long and
     * broadcast, are (even, odd, even, odd, ...) against gradients laid out as (channel 0 even, channel 0 odd, ...).
     */
    private static void weightPairBlock(MemorySegment image, int plane, int wp, int oh, int ow, int t0, int t1, int t2, int t3,
                                        MemorySegment grad, long gradAt, float[] sum, int at, int stride) {
        FloatVector s0 = FloatVector.fromArray(S, sum, at), s1 = FloatVector.fromArray(S, sum, at + stride),
                s2 = FloatVector.fromArray(S, sum, at + 2 * stride), s3 = FloatVector.fromArray(S, sum, at + 3 * stride);
        for (int oy = 0; oy < oh; oy++) {
            long row = (long) (plane + oy * wp) * FLOAT, d = gradAt + (long) oy * ow * (L / 2) * FLOAT;
            for (int ox = 0; ox < ow; ox += 2, row += 2 * FLOAT, d += L * FLOAT) {
                FloatVector gv = FloatVector.fromMemorySegment(S, typed(grad), d, ORDER);
                s0 = gv.fma(LongVector.broadcast(PAIRS, image.get(PAIR, row + t0 * FLOAT)).reinterpretAsFloats(), s0);
                s1 = gv.fma(LongVector.broadcast(PAIRS, image.get(PAIR, row + t1 * FLOAT)).reinterpretAsFloats(), s1);
                s2 = gv.fma(LongVector.broadcast(PAIRS, image.get(PAIR, row + t2 * FLOAT)).reinterpretAsFloats(), s2);
                s3 = gv.fma(LongVector.broadcast(PAIRS, image.get(PAIR, row + t3 * FLOAT)).reinterpretAsFloats(), s3);
            }
        }
        s0.intoArray(sum, at);
        s1.intoArray(sum, at + stride);
        s2.intoArray(sum, at + 2 * stride);
        s3.intoArray(sum, at + 3 * stride);
    }

    /**
     * Four taps' rows of {@code sum} (at {@code at}, {@code stride} floats apart) for one vector of output channels:
     * over every output position, the four pixels the taps read, broadcast, times the vector of gradients there.
     * Output rows start {@code rowStep} floats apart in the padded plane, positions {@code colStep} apart.
     */
    private static void weightBlock(float[] image, int plane, int rowStep, int colStep, int oh, int ow, int t0, int t1, int t2, int t3,
                                    MemorySegment grad, long gradAt, long positionBytes, float[] sum, int at, int stride) {
        FloatVector s0 = FloatVector.fromArray(S, sum, at), s1 = FloatVector.fromArray(S, sum, at + stride),
                s2 = FloatVector.fromArray(S, sum, at + 2 * stride), s3 = FloatVector.fromArray(S, sum, at + 3 * stride);
        for (int oy = 0; oy < oh; oy++) {
            int pixel = plane + oy * rowStep;
            long d = gradAt + (long) oy * ow * positionBytes;
            for (int ox = 0; ox < ow; ox++, d += positionBytes, pixel += colStep) {
                FloatVector gv = FloatVector.fromMemorySegment(S, typed(grad), d, ORDER);
                s0 = gv.fma(FloatVector.broadcast(S, image[pixel + t0]), s0);
                s1 = gv.fma(FloatVector.broadcast(S, image[pixel + t1]), s1);
                s2 = gv.fma(FloatVector.broadcast(S, image[pixel + t2]), s2);
                s3 = gv.fma(FloatVector.broadcast(S, image[pixel + t3]), s3);
            }
        }
        s0.intoArray(sum, at);
        s1.intoArray(sum, at + stride);
        s2.intoArray(sum, at + 2 * stride);
        s3.intoArray(sum, at + 3 * stride);
    }

    /**
     * The zero-padded copy of one image in this thread's scratch: channels of hp rows of wp floats, wide enough that a
     * whole vector at any output column of a row (the last one starts before {@code owp}, the output width rounded up
     * to vectors) and any tap stays in that row, plus a vector of slack after the last row.
     */
    private record Padded(ConvGeometry g, int hp, int wp, int owp) {
        static Padded of(ConvGeometry g) {
            var s = g.spec();
            int owp = Math.ceilDiv(g.ow(), L) * L;
            return new Padded(g, g.h() + 2 * s.padH(), Math.max(g.w() + 2 * s.padW(), owp + (g.kw() - 1) * s.dilationW()), owp);
        }

        long imageFloats() { return (long) g.c() * hp * wp; }

        long gradientFloats() { return (long) g.cout() * g.oh() * owp; }

        /** Image n, padded. */
        MemorySegment copy(View input, MemorySegment x, int n) { return copy(input, x, n, 1); }

        /** Images [first, first + count), padded, one after the other. */
        MemorySegment copy(View input, MemorySegment x, int first, int count) {
            long bytes = (count * imageFloats() + L) * FLOAT;
            return copyInto(input, x, first, count, Scratch.get(Scratch.PADDED_IMAGE, bytes).asSlice(0, bytes));
        }

        /**
         * The same images in this thread's heap array (grown to fit and reused, so a training step allocates none):
         * a broadcast of an array element folds into the multiply-add's load, where a segment read went through a
         * scalar register and a bounds check per pixel (the weight gradient ran 1.3x slower).
         */
        float[] copyToHeap(View input, MemorySegment x, int first, int count) {
            int floats = Math.toIntExact(count * imageFloats() + L);
            float[] images = HEAP.get(IMAGES, floats);
            copyInto(input, x, first, count, MemorySegment.ofArray(images).asSlice(0, (long) floats * FLOAT));
            return images;
        }

        private MemorySegment copyInto(View input, MemorySegment x, int first, int count, MemorySegment pad) {
            long[] st = input.strides();
            for (int n = 0; n < count; n++)
                Columns.pad(x, input.offset() + (first + n) * st[0], st[1], st[2], st[3], g, hp, wp, pad, n * imageFloats(), (int) FLOAT);
            pad.asSlice(count * imageFloats() * FLOAT).fill((byte) 0);
            return pad;
        }

        /**
         * The dense output gradients of {@code count} images from element {@code at}, by position: for each image and
         * output position, its cout values, zero up to {@code width}; in pairs, each two neighbouring positions' values
         * interleaved (channel 0 even, channel 0 odd, channel 1 even, ...).
         */
        MemorySegment gradientByPosition(MemorySegment dy, long at, int count, int width, boolean pairs) {
            int positions = count * g.p(), cout = g.cout(), plane = g.p();
            long bytes = (long) positions * width * FLOAT;
            MemorySegment out = Scratch.get(Scratch.GRADIENT_BY_POSITION, bytes).asSlice(0, bytes);
            // Transposed between heap arrays, with bulk copies in and out: element by element through the segments,
            // this took a tenth of the MNIST CNN's training time. The copy out is not redundant: the weight gradient
            // reading the heap array in place ran slower (MNIST CNN layer 2 forward + gradients 1.5 -> 2.0 ms).
            int inFloats = count * cout * plane, outFloats = positions * width;
            float[] src = HEAP.get(GRADIENT_IN, inFloats), dst = HEAP.get(GRADIENT_OUT, outFloats);
            MemorySegment.copy(dy, F32, at * FLOAT, src, 0, inFloats);
            if (pairs ? 2 * cout < L : width > cout) java.util.Arrays.fill(dst, 0, outFloats, 0);
            for (int n = 0; n < count; n++)
                for (int co = 0; co < cout; co++) {
                    int from = (n * cout + co) * plane, image = n * plane * width;
                    if (pairs) {
                        for (int q = 0; q < plane; q++) dst[image + (q >> 1) * L + 2 * co + (q & 1)] = src[from + q];
                    } else {
                        for (int q = 0; q < plane; q++) dst[image + q * width + co] = src[from + q];
                    }
                }
            MemorySegment.copy(dst, 0, out, F32, 0, outFloats);
            return out;
        }
    }
}
