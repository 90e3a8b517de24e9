package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.Lanes;
import dev.kiln.cpu.simd.WorkerPool;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * float32 convolutions at stride 1 with few output channels (LeNet's 1 -> 6 and 6 -> 16 and their input
 * gradients), computed straight from a zero-padded copy of each image: no column matrix, no packing.
 *
 * <p>Why: the column path makes a GEMM of (cout x k) by (k x positions) per image. With cout = 6 most of a 12-row
 * micro-tile is padding, and im2col writes k = cin * kh * kw copies of the image that the GEMM then packs again;
 * LeNet's convolutions ran at a third of PyTorch's speed that way. Here an output row is a few vectors of
 * positions, and each vector of input pixels, loaded once per tap, is multiplied into {@link #CO_BLOCK} output
 * channels' accumulators (the weights broadcast), so there are 8 multiply-adds per load and nothing is written
 * but the output. The weight gradient blocks 2 output channels by 4 taps, each accumulator reduced once per image
 * in a fixed lane order.
 *
 * <p>Rows are whole vectors, without masks: the padded copy is wide enough for a vector at any output column, the
 * forward pass writes rows padded to whole vectors into scratch, and the weight gradient reads output-gradient rows
 * zero-padded the same way.
 */
final class DirectConvolution {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final long FLOAT = Float.BYTES;
    /** Output channels per forward accumulator block. */
    static final int CO_BLOCK = 8;
    /**
     * Output channels and taps per weight-gradient accumulator block: 8 accumulators, 6 loads per 8 multiply-adds.
     * 4 x 4 would load less, but C1 runs out of virtual registers on that loop and the method then never reaches C2.
     */
    private static final int GRAD_CO_BLOCK = 2, GRAD_TAP_BLOCK = 4;
    /**
     * Output channels up to which this path is taken: beyond two forward blocks the GEMM's 12-row tiles are full
     * and the column path, whose packed panels reuse each loaded pixel across more channels, is as fast.
     */
    static final int MAX_COUT = 16;
    /** Input channels times taps up to which this path is taken: deeper products amortise the column matrix. */
    static final int MAX_DEPTH = 400;

    private DirectConvolution() {}

    /** Whether this path computes the convolution of g (in dtype t): float32, one group, stride 1, few channels. */
    static boolean takes(ConvGeometry g, DType t) {
        var s = g.spec();
        return t == DType.FLOAT32 && s.groups() == 1 && s.strideH() == 1 && s.strideW() == 1 && g.cout() <= MAX_COUT
                && g.k() <= MAX_DEPTH && g.ow() >= L / 2;
    }

    /** {@code out = conv2d(input, weight)}; weight and out dense, input any strides. */
    static void forward(View input, MemorySegment x, View weight, MemorySegment w, ConvGeometry g, View out, MemorySegment y) {
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
                // The block is computed whole into scratch rows of owp floats, then its rows copied out: neither a
                // branch on the channel count nor a masked store in the loop (C1 compiles such a loop badly, and the
                // uncompiled kernel is what runs until C2 is done).
                long tilePlane = (long) g.oh() * p.owp;
                MemorySegment tile = Scratch.get(Scratch.OUTPUT_TILE, CO_BLOCK * tilePlane * FLOAT);
                forwardBlock(image, p, g, wb, b * taps * CO_BLOCK, tile, tilePlane);
                for (int j = 0; j < channels; j++) {
                    for (int oy = 0; oy < g.oh(); oy++) {
                        MemorySegment.copy(tile, (j * tilePlane + (long) oy * p.owp) * FLOAT, y, (yBase + j * plane + (long) oy * g.ow()) * FLOAT,
                                g.ow() * FLOAT);
                    }
                }
            }
        });
    }

    /** All CO_BLOCK channels of one block into the tile: channel j's row oy at element {@code j * plane + oy * owp}. */
    private static void forwardBlock(MemorySegment image, Padded p, ConvGeometry g, float[] wb, int wBase, MemorySegment y, long plane) {
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
                            a6 = v.fma(FloatVector.broadcast(S, wb[wi + 6]), a6);
                            a7 = v.fma(FloatVector.broadcast(S, wb[wi + 7]), a7);
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
     * {@code gradWeight = conv2d's gradient by its weight}; gradOut and gradWeight dense, input any strides. Chunks
     * of images run in parallel, each summing its images into a partial in image order; the partials are added in
     * chunk order, so the result depends only on the pool's size. Returns false, having written nothing, when the
     * result is not finite: the loops multiply whole vectors, and the lanes past a row's end, whose output gradient
     * is zero, multiply it by pixels those taps never see, so an infinite or NaN pixel there would turn a finite
     * gradient into NaN. A finite result had no such product (0 times a finite pixel adds nothing), so it is exact;
     * checking the few thousand weights afterwards costs far less than checking every input pixel first.
     */
    static boolean backwardWeight(View input, MemorySegment x, View gradOut, MemorySegment dy, ConvGeometry g,
                                  View gradWeight, MemorySegment dw) {
        int weights = g.cout() * g.k();
        WorkerPool pool = WorkerPool.shared();
        int wanted = g.macs() >= Convolution.PARALLEL_MACS ? pool.parallelism() : 1;
        int per = Math.ceilDiv(g.n(), wanted), chunks = Math.ceilDiv(g.n(), per);
        float[][] partial = new float[chunks][weights];
        Padded p = Padded.of(g);
        pool.run(chunks, chunk -> {
            int first = chunk * per, count = Math.min(g.n(), first + per) - first;
            MemorySegment images = p.copy(input, x, first, count);
            MemorySegment rows = p.gradientRows(dy, gradOut.offset() + (long) first * g.cout() * g.p(), count);
            weightImages(images, p, g, rows, count, partial[chunk]);
        });
        float[] total = partial[0];
        for (int i = 0; i < weights; i++) {
            for (int chunk = 1; chunk < chunks; chunk++) total[i] += partial[chunk][i];
            if (!Float.isFinite(total[i])) return false;
        }
        MemorySegment.copy(total, 0, dw, F32, gradWeight.offset() * FLOAT, weights);
        return true;
    }

    /**
     * Adds the weight gradient (cout x cin*kh*kw) of {@code count} padded images and their padded output gradients to
     * {@code sum}. Each block's accumulators run over all the images before they are reduced: LeNet's second layer
     * has 10x10 outputs, so per image the reductions would cost as much as the products.
     */
    private static void weightImages(MemorySegment images, Padded p, ConvGeometry g, MemorySegment rows, int count, float[] sum) {
        int taps = g.kh() * g.kw(), k = g.k();
        // Byte offset of each tap (ky, kx) from its output position in the padded image.
        long[] tapAt = new long[Math.ceilDiv(taps, GRAD_TAP_BLOCK) * GRAD_TAP_BLOCK];
        for (int t = 0; t < taps; t++) {
            tapAt[t] = ((long) (t / g.kw()) * g.spec().dilationH() * p.wp + (long) (t % g.kw()) * g.spec().dilationW()) * FLOAT;
        }
        long gradPlane = (long) g.oh() * p.owp * FLOAT;
        float[] r = new float[GRAD_CO_BLOCK * GRAD_TAP_BLOCK];
        for (int ci = 0; ci < g.c(); ci++) {
            long planeAt = (long) ci * p.hp * p.wp * FLOAT;
            for (int co = 0; co < g.cout(); co += GRAD_CO_BLOCK) {
                int cos = Math.min(GRAD_CO_BLOCK, g.cout() - co);
                for (int t = 0; t < taps; t += GRAD_TAP_BLOCK) {
                    weightBlock(images, p, count, planeAt, tapAt, t, rows, co * gradPlane, cos > 1 ? gradPlane : 0, r);
                    for (int i = 0; i < cos; i++) {
                        for (int j = 0; j < GRAD_TAP_BLOCK && t + j < taps; j++) sum[(co + i) * k + ci * taps + t + j] += r[i * GRAD_TAP_BLOCK + j];
                    }
                }
            }
        }
    }

    /**
     * r[i * 4 + j] = sum over output positions of output-gradient channel i of the block (at byte {@code gradAt}, the
     * second {@code second} bytes further) times input channel ci at tap t + j. Whole vectors only, no masks: the
     * output gradient rows are zero past their end, and masked loads made the loop too large for C1, so that it
     * never reached C2.
     */
    private static void weightBlock(MemorySegment image, Padded p, int count, long planeAt, long[] tapAt, int t,
                                    MemorySegment grad, long gradAt, long second, float[] r) {
        long t0 = tapAt[t], t1 = tapAt[t + 1], t2 = tapAt[t + 2], t3 = tapAt[t + 3];
        long rowBytes = (long) p.wp * FLOAT, gradRowBytes = (long) p.owp * FLOAT;
        long imageBytes = p.imageFloats() * FLOAT, gradImageBytes = p.gradientFloats() * FLOAT;
        int oh = p.g.oh();
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00, s13 = s00;
        for (int i = 0; i < count * oh; i++) {
            int n = i / oh, oy = i - n * oh;
            long row = planeAt + n * imageBytes + oy * rowBytes, d = gradAt + n * gradImageBytes + oy * gradRowBytes;
            for (int x0 = 0; x0 < p.owp; x0 += L, row += L * FLOAT, d += L * FLOAT) {
                FloatVector g0 = FloatVector.fromMemorySegment(S, grad, d, ORDER), g1 = FloatVector.fromMemorySegment(S, grad, d + second, ORDER);
                FloatVector v0 = FloatVector.fromMemorySegment(S, image, row + t0, ORDER), v1 = FloatVector.fromMemorySegment(S, image, row + t1, ORDER),
                        v2 = FloatVector.fromMemorySegment(S, image, row + t2, ORDER), v3 = FloatVector.fromMemorySegment(S, image, row + t3, ORDER);
                s00 = g0.fma(v0, s00);
                s01 = g0.fma(v1, s01);
                s02 = g0.fma(v2, s02);
                s03 = g0.fma(v3, s03);
                s10 = g1.fma(v0, s10);
                s11 = g1.fma(v1, s11);
                s12 = g1.fma(v2, s12);
                s13 = g1.fma(v3, s13);
            }
        }
        r[0] = Lanes.sum(s00);
        r[1] = Lanes.sum(s01);
        r[2] = Lanes.sum(s02);
        r[3] = Lanes.sum(s03);
        r[4] = Lanes.sum(s10);
        r[5] = Lanes.sum(s11);
        r[6] = Lanes.sum(s12);
        r[7] = Lanes.sum(s13);
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
            var s = g.spec();
            long[] st = input.strides();
            long bytes = (count * imageFloats() + L) * FLOAT;
            MemorySegment pad = Scratch.get(Scratch.PADDED_IMAGE, bytes).asSlice(0, bytes);
            pad.fill((byte) 0);
            for (int n = 0; n < count; n++) {
                long base = input.offset() + (first + n) * st[0], image = n * imageFloats();
                for (int c = 0; c < g.c(); c++) {
                    for (int iy = 0; iy < g.h(); iy++) {
                        long src = base + c * st[1] + iy * st[2], dst = (image + (long) (c * hp + iy + s.padH()) * wp + s.padW()) * FLOAT;
                        if (st[3] == 1) {
                            MemorySegment.copy(x, src * FLOAT, pad, dst, g.w() * FLOAT);
                        } else {
                            for (int ix = 0; ix < g.w(); ix++) pad.set(F32, dst + ix * FLOAT, x.getAtIndex(F32, src + ix * st[3]));
                        }
                    }
                }
            }
            return pad;
        }

        /** The dense output gradients of {@code count} images from element {@code at}, rows of owp floats zero past ow. */
        MemorySegment gradientRows(MemorySegment dy, long at, int count) {
            long bytes = count * gradientFloats() * FLOAT, rowCount = (long) count * g.cout() * g.oh();
            MemorySegment rows = Scratch.get(Scratch.GRADIENT_ROWS, bytes).asSlice(0, bytes);
            rows.fill((byte) 0);
            for (long r = 0; r < rowCount; r++) MemorySegment.copy(dy, (at + r * g.ow()) * FLOAT, rows, r * owp * FLOAT, g.ow() * FLOAT);
            return rows;
        }
    }
}
