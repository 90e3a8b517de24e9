package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.View;
import dev.kiln.cpu.gemm.Gemm;
import dev.kiln.cpu.gemm.PanelRows;
import dev.kiln.cpu.simd.WorkerPool;

import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;

/**
 * conv2d and its two gradients for float32 and float64 as, per image, im2col into this thread's scratch
 * columns and one packed GEMM per group (see {@link Columns}); a 1x1 kernel at stride 1 uses the image itself.
 * float32 at stride 1 with few output channels skips the columns: see {@link DirectConvolution}.
 * The input gradient at stride 1 is the forward pass of another convolution (see {@link #backwardInput}).
 *
 * <p>Work is split over images when there are at least as many as threads: every image is then independent
 * and its GEMM runs on one thread, which keeps the small layers of a small network (a few hundred thousand
 * multiply-adds per image) from paying a hand-off per product. With fewer images the images run in turn and each
 * GEMM splits itself. The weight gradient sums over images, so each chunk of images accumulates its own partial
 * sum and the partials are added at the end; with many channels it reads the image channels last (see
 * {@link #transposesChannelsLast}).
 */
public final class Convolution {
    /** Below this many multiply-adds in the whole call, one thread does everything. */
    static final long PARALLEL_MACS = 1L << 18;
    /** Chunks per thread for the weight gradient: a few, so a thread slowed by the machine is not waited on. */
    static final int CHUNKS_PER_THREAD = 2;
    /** Channels per group from which the weight gradient transposes the image (see {@link #transposesChannelsLast}). */
    private static final int CHANNELS_LAST_MIN_RUN = 16;

    private Convolution() {}

    /** Whether the fast kernels take these operands: the first one's dtype float32 or float64, and the rest dense. */
    public static boolean handles(View first, View... dense) {
        DType t = first.dtype();
        if (t != DType.FLOAT32 && t != DType.FLOAT64) return false;
        for (View v : dense) if (!v.isContiguous()) return false;
        return true;
    }

    /** {@code out = conv2d(input, weight)}; weight and out dense, input any strides. */
    public static void forward(View input, MemorySegment x, View weight, MemorySegment w, Conv2dSpec spec,
                               View out, MemorySegment y) {
        ConvGeometry g = ConvGeometry.of(input.shape(), weight.shape(), out.shape(), spec);
        DType t = out.dtype();
        if (DirectConvolution.takes(g, t)) {
            DirectConvolution.forward(input, x, weight, w, g, out, y);
            return;
        }
        if (WinogradConvolution.takes(g, t)) {
            WinogradConvolution.forward(input, x, weight, w, g, out, y);
            return;
        }
        if (PaddedImage.pays(g, input.strides(), t)) {
            paddedForward(input, x, weight, w, g, out, y);
            return;
        }
        int groups = g.groups(), coutG = g.coutG(), k = g.k(), p = g.p();
        if (groups == 1) {
            // The weight packed once for every image, not once per image (a 512 x 4608 weight is 2.4 million elements).
            Gemm.PackedA packed = Gemm.pack(t, coutG, k, w, weight.offset(), k, 1);
            if (g.columnsAreInput(input.strides())) {
                forEachImage(g, n -> {
                    Operand cols = columns(input, x, g, n);
                    Gemm.multiply(packed, p, cols.data, cols.groupOffset(0), cols.rowStride, cols.colStride, y,
                            out.offset() + (long) n * g.cout() * p, p, 1);
                });
            } else {
                batchedForward(input, x, packed, g, out, y);
            }
            return;
        }
        forEachImage(g, n -> {
            Operand cols = columns(input, x, g, n);
            long[] aOff = new long[groups], bOff = new long[groups], cOff = new long[groups];
            for (int gi = 0; gi < groups; gi++) {
                aOff[gi] = weight.offset() + (long) gi * coutG * k;
                bOff[gi] = cols.groupOffset(gi);
                cOff[gi] = out.offset() + (long) n * g.cout() * p + (long) gi * coutG * p;
            }
            Gemm.multiply(t, coutG, p, k, w, aOff, k, 1, cols.data, bOff, cols.rowStride, cols.colStride, y, cOff, p, 1);
        });
    }

    /**
     * The forward pass at stride 1 with no column matrix: GEMM reads the zero-padded image in place as its columns
     * (see {@link PaddedImage}), into this thread's scratch with rows as wide as the padded image's, from which the
     * output rows are then copied. im2col wrote 7.2 MB per image of a ResNet-18 64-channel layer, which the GEMM then
     * read back, for a product of 64 rows: that pass cost about as much as the product.
     */
    private static void paddedForward(View input, MemorySegment x, View weight, MemorySegment w, ConvGeometry g,
                                      View out, MemorySegment y) {
        DType t = out.dtype();
        int groups = g.groups(), coutG = g.coutG(), k = g.k(), p = g.p(), width = (int) t.byteSize();
        PaddedImage padded = PaddedImage.of(g, t);
        MemorySegment byTap = Scratch.get(Scratch.WEIGHT_BY_TAP, (long) g.cout() * k * width);
        Columns.weightChannelsLast(w, weight.offset(), g, byTap, width);
        long[] s = input.strides(), panels = padded.panels();
        PanelRows[] groupRows = new PanelRows[groups];
        for (int gi = 0; gi < groups; gi++) groupRows[gi] = padded.rows(gi);
        int columns = padded.columns();
        // One group's weight is packed once for all images; groups each pack theirs per image, on the thread that
        // runs it (a thread's workspace holds one packed A).
        Gemm.PackedA whole = groups == 1 ? Gemm.pack(t, coutG, k, byTap, 0, k, 1) : null;
        forEachImage(g, n -> {
            MemorySegment image = padded.copy(x, input.offset() + n * s[0], s[1], s[2], s[3]);
            MemorySegment rows = Scratch.get(Scratch.OUTPUT_TILE, (long) g.cout() * columns * width);
            for (int gi = 0; gi < groups; gi++) {
                Gemm.PackedA weightOfGroup = whole != null ? whole : Gemm.pack(t, coutG, k, byTap, (long) gi * coutG * k, k, 1);
                Gemm.multiplyInPlace(weightOfGroup, columns, image, groupRows[gi], panels, rows, (long) gi * coutG * columns, columns, 1);
            }
            padded.unpad(rows, g.cout(), y, out.offset() + (long) n * g.cout() * p);
        });
    }

    /**
     * The forward pass through im2col for a few images at a time, their columns side by side in one matrix of at
     * least {@link #MIN_BATCHED_COLUMNS} columns where the images are small: a 7x7 image's 49 columns filled two
     * 32-column panels of the product to 77% and used each panel of the packed weight (9.4 MB for 512 x 4608, read
     * from memory) for only two tiles.
     */
    private static void batchedForward(View input, MemorySegment x, Gemm.PackedA packed, ConvGeometry g, View out, MemorySegment y) {
        DType t = out.dtype();
        int p = g.p(), k = g.k(), cout = g.cout(), width = (int) t.byteSize();
        int threads = splitsOverImages(g) ? WorkerPool.shared().parallelism() : 1;
        int per = Math.max(1, Math.min(Math.ceilDiv(MIN_BATCHED_COLUMNS, Math.max(1, p)), Math.ceilDiv(g.n(), threads)));
        int chunks = Math.ceilDiv(g.n(), per);
        long[] s = input.strides();
        IntConsumer chunk = ci -> {
            int first = ci * per, count = Math.min(per, g.n() - first);
            long columns = (long) count * p;
            MemorySegment cols = Scratch.get(Scratch.COLUMNS, k * columns * width);
            for (int i = 0; i < count; i++)
                Columns.im2col(x, input.offset() + (first + i) * s[0], s[1], s[2], s[3], g, cols, (long) i * p, columns, width);
            if (count == 1) {
                Gemm.multiply(packed, p, cols, 0, p, 1, y, out.offset() + (long) first * cout * p, p, 1);
                return;
            }
            MemorySegment product = Scratch.get(Scratch.PRODUCT, cout * columns * width);
            Gemm.multiply(packed, (int) columns, cols, 0, columns, 1, product, 0, columns, 1);
            for (int i = 0; i < count; i++)
                for (int co = 0; co < cout; co++)
                    MemorySegment.copy(product, (co * columns + (long) i * p) * width, y,
                            (out.offset() + ((long) (first + i) * cout + co) * p) * width, (long) p * width);
        };
        if (threads > 1) {
            WorkerPool.shared().run(chunks, chunk);
        } else {
            for (int ci = 0; ci < chunks; ci++) chunk.accept(ci);
        }
    }

    /** Columns from which a product's B panels are mostly full and the weight's panels are used enough: see {@link #batchedForward}. */
    private static final int MIN_BATCHED_COLUMNS = 256;

    /** Input channels per group from which the stride-1 input gradient runs as a forward pass: one GEMM micro-tile of rows. */
    private static final int MIN_FLIPPED_ROWS = 12;

    /**
     * {@code gradInput = conv2d's gradient by its input}; all three dense. At stride 1 this is itself a
     * convolution: the output gradient, padded by {@code dilation * (k - 1) - pad}, correlated with the weight
     * flipped in both spatial axes and with its channel axes swapped per group. That runs as the forward pass, a
     * deep product (k = cout * kh * kw) written once into the image, instead of a shallow one (k = cout) into a
     * column matrix that is then summed back tap by tap. That product's rows are the input channels per group: with
     * fewer than one micro-tile of them (LeNet's 1 and 6) most of each tile would be padding, and the column path
     * measured 3-5x faster there, unless that forward pass is one for {@link DirectConvolution}, which has no tiles,
     * and its blocks of output channels (here the input channels) are more than half full: a first layer's input
     * gradient (LeNet's, one channel) took 3.6 ms that way against 1.1 ms through the columns (AVX2).
     */
    public static void backwardInput(View gradOut, MemorySegment dy, View weight, MemorySegment w, Conv2dSpec spec,
                                     View gradInput, MemorySegment dx) {
        ConvGeometry g = ConvGeometry.of(gradInput.shape(), weight.shape(), gradOut.shape(), spec);
        int padH = spec.dilationH() * (g.kh() - 1) - spec.padH(), padW = spec.dilationW() * (g.kw() - 1) - spec.padW();
        DType t = weight.dtype();
        Conv2dSpec transposed = new Conv2dSpec(1, 1, Math.max(0, padH), Math.max(0, padW), spec.dilationH(), spec.dilationW(), spec.groups());
        boolean direct = DirectConvolution.takes(ConvGeometry.of(gradOut.shape(), new int[] {g.c(), g.coutG(), g.kh(), g.kw()}, gradInput.shape(), transposed), t)
                && DirectConvolution.fillsBlocks(g.c());
        if (spec.strideH() == 1 && spec.strideW() == 1 && padH >= 0 && padW >= 0 && (g.c() / g.groups() >= MIN_FLIPPED_ROWS || direct)) {
            int width = (int) t.byteSize();
            MemorySegment flipped = Scratch.get(Scratch.WEIGHT_COPY, (long) g.cout() * g.k() * width);
            Columns.flipWeight(w, weight.offset(), g, flipped, width);
            View flippedView = View.contiguous(flipped::byteSize, t, g.c(), g.coutG(), g.kh(), g.kw());
            forward(gradOut, dy, flippedView, flipped, transposed, gradInput, dx);
        } else if (g.cg() >= CHANNELS_LAST_MIN_RUN) {
            channelsLastBackwardInput(gradOut, dy, weight, w, g, gradInput, dx);
        } else {
            columnsBackwardInput(gradOut, dy, weight, w, g, gradInput, dx);
        }
    }

    /**
     * The input gradient as rows, one per output position (output gradient transposed times the weight in (tap,
     * channel) order), summed back into a channels-last image that is then transposed into place: the strided case
     * with many channels per group. Its col2im adds whole vectors of channels per tap where {@link #columnsBackwardInput}
     * adds rows of a few pixels (7 on the MNIST CNN's second layer) one element at a time.
     */
    private static void channelsLastBackwardInput(View gradOut, MemorySegment dy, View weight, MemorySegment w, ConvGeometry g,
                                                  View gradInput, MemorySegment dx) {
        DType t = gradInput.dtype();
        int groups = g.groups(), coutG = g.coutG(), k = g.k(), p = g.p(), width = (int) t.byteSize();
        long imageSize = g.c() * g.inputPlane();
        MemorySegment weightRows = Scratch.get(Scratch.WEIGHT_COPY, (long) g.cout() * k * width);
        Columns.weightChannelsLast(w, weight.offset(), g, weightRows, width);
        forEachImage(g, n -> {
            MemorySegment rows = Scratch.get(Scratch.COLUMNS, (long) p * groups * k * width);
            long[] aOff = new long[groups], bOff = new long[groups], cOff = new long[groups];
            for (int gi = 0; gi < groups; gi++) {
                aOff[gi] = gradOut.offset() + (long) n * g.cout() * p + (long) gi * coutG * p;
                bOff[gi] = (long) gi * coutG * k;
                cOff[gi] = (long) gi * k;
            }
            Gemm.multiply(t, p, k, coutG, dy, aOff, 1, p, weightRows, bOff, k, 1, rows, cOff, (long) groups * k, 1);
            MemorySegment image = Scratch.get(Scratch.CHANNELS_LAST, imageSize * width);
            Columns.row2imChannelsLast(rows, g, image, t);
            Columns.fromChannelsLast(image, g, dx, gradInput.offset() + n * imageSize, width);
        });
    }

    /**
     * The input gradient as columns (weight transposed times output gradient) summed back into the image: the
     * strided case. (A 1x1 kernel at stride 1, whose image is its own column matrix, takes the other path.)
     */
    private static void columnsBackwardInput(View gradOut, MemorySegment dy, View weight, MemorySegment w, ConvGeometry g,
                                             View gradInput, MemorySegment dx) {
        DType t = gradInput.dtype();
        int groups = g.groups(), coutG = g.coutG(), k = g.k(), p = g.p(), width = (int) t.byteSize();
        long imageSize = g.c() * g.inputPlane();
        forEachImage(g, n -> {
            MemorySegment cols = Scratch.get(Scratch.COLUMNS, (long) groups * k * p * width);
            long[] aOff = new long[groups], bOff = new long[groups], cOff = new long[groups];
            for (int gi = 0; gi < groups; gi++) {
                aOff[gi] = weight.offset() + (long) gi * coutG * k;
                bOff[gi] = gradOut.offset() + (long) n * g.cout() * p + (long) gi * coutG * p;
                cOff[gi] = (long) gi * k * p;
            }
            Gemm.multiply(t, k, p, coutG, w, aOff, 1, k, dy, bOff, p, 1, cols, cOff, p, 1);
            Columns.col2im(cols, g, dx, gradInput.offset() + n * imageSize, t);
        });
    }

    /** {@code gradWeight = conv2d's gradient by its weight}; gradOut and gradWeight dense, input any strides. */
    public static void backwardWeight(View input, MemorySegment x, View gradOut, MemorySegment dy, Conv2dSpec spec,
                                      View gradWeight, MemorySegment dw) {
        ConvGeometry g = ConvGeometry.of(input.shape(), gradWeight.shape(), gradOut.shape(), spec);
        DType t = gradWeight.dtype();
        int width = (int) t.byteSize();
        long weightSize = (long) g.cout() * g.k();
        if (g.n() == 0) {
            dw.asSlice(gradWeight.offset() * width, weightSize * width).fill((byte) 0);
            return;
        }
        if (DirectConvolution.takes(g, t)) {
            DirectConvolution.backwardWeight(input, x, gradOut, dy, g, gradWeight, dw);
            return;
        }
        if (WinogradConvolution.takes(g, t)) {
            WinogradConvolution.backwardWeight(input, x, gradOut, dy, g, gradWeight, dw);
            return;
        }
        int wanted = splitsOverImages(g) ? WorkerPool.shared().parallelism() * CHUNKS_PER_THREAD : 1;
        // Every chunk gets at least one image: a chunk without one would leave its partial unwritten.
        int per = Math.ceilDiv(g.n(), wanted), chunks = Math.ceilDiv(g.n(), per);
        boolean channelsLast = transposesChannelsLast(input.strides(), g);
        PaddedImage padded = channelsLast && PaddedImage.readsChannelsLast(g, t) ? PaddedImage.of(g, t) : null;
        // Chunk 0 sums straight into the gradient unless its products come in channels-last order; the others
        // sum into partials added at the end. The partials are this thread's scratch (native memory: a heap
        // segment at the same access sites would make the JIT's type profile polymorphic, and every access slow).
        int straight = channelsLast ? 0 : 1;
        MemorySegment partials = Scratch.get(Scratch.PARTIALS, (chunks - straight) * weightSize * width);
        WorkerPool.shared().run(chunks, chunk -> {
            boolean intoGradient = chunk < straight;
            MemorySegment sum = intoGradient ? dw : partials;
            long sumAt = intoGradient ? gradWeight.offset() : (chunk - straight) * weightSize;
            for (int n = chunk * per, end = Math.min(g.n(), n + per); n < end; n++) {
                boolean first = n == chunk * per;
                MemorySegment product = first ? sum : Scratch.get(Scratch.PRODUCT, weightSize * width);
                long at = first ? sumAt : 0;
                if (padded != null) paddedProduct(input, x, gradOut, dy, padded, n, product, at);
                else if (channelsLast) channelsLastProduct(input, x, gradOut, dy, g, n, product, at);
                else weightProduct(input, x, gradOut, dy, g, n, product, at);
                if (!first) Columns.add(t, product, 0, sum, sumAt, 1, (int) weightSize);
            }
        });
        if (channelsLast) {
            Columns.sumChannelsLast(partials, chunks, g, dw, gradWeight.offset(), t);
        } else {
            for (int chunk = 1; chunk < chunks; chunk++)
                Columns.add(t, partials, (chunk - 1) * weightSize, dw, gradWeight.offset(), 1, (int) weightSize);
        }
    }

    /** One image's weight gradient, (cout x k), dense at element {@code at} of {@code product}. */
    private static void weightProduct(View input, MemorySegment x, View gradOut, MemorySegment dy, ConvGeometry g, int n,
                                      MemorySegment product, long at) {
        int groups = g.groups(), coutG = g.coutG(), k = g.k(), p = g.p();
        Operand cols = columns(input, x, g, n);
        long[] aOff = new long[groups], bOff = new long[groups], cOff = new long[groups];
        for (int gi = 0; gi < groups; gi++) {
            aOff[gi] = gradOut.offset() + (long) n * g.cout() * p + (long) gi * coutG * p;
            bOff[gi] = cols.groupOffset(gi);
            cOff[gi] = at + (long) gi * coutG * k;
        }
        // B is the columns transposed: only their strides swap.
        Gemm.multiply(gradOut.dtype(), coutG, k, p, dy, aOff, p, 1, cols.data, bOff, cols.colStride, cols.rowStride,
                product, cOff, k, 1);
    }

    /**
     * Whether the weight gradient builds its columns from the image transposed to channels last. Its products
     * reduce over output positions, the contiguous axis of both the output gradient and ordinary columns, so
     * GEMM would have to transpose all columns element by element while packing. Rows of a channels-last image
     * (one per output position, the taps' channels in runs) pack with whole vectors instead, and only the image
     * itself, kh * kw times smaller, is transposed element by element; that pays once the runs are long.
     */
    private static boolean transposesChannelsLast(long[] inputStrides, ConvGeometry g) {
        return !g.columnsAreInput(inputStrides) && g.cg() >= CHANNELS_LAST_MIN_RUN;
    }

    /**
     * One image's weight gradient from channels-last rows: (cout x kh*kw*cg) with columns in (tap, channel) order
     * per group, dense at element {@code at} of {@code product}.
     */
    private static void channelsLastProduct(View input, MemorySegment x, View gradOut, MemorySegment dy, ConvGeometry g,
                                            int n, MemorySegment product, long at) {
        int groups = g.groups(), coutG = g.coutG(), k = g.k(), p = g.p(), width = (int) input.dtype().byteSize();
        long[] s = input.strides();
        MemorySegment image = Scratch.get(Scratch.CHANNELS_LAST, g.c() * g.inputPlane() * width);
        Columns.toChannelsLast(x, input.offset() + n * s[0], s[1], s[2], s[3], g, image, width);
        MemorySegment rows = Scratch.get(Scratch.COLUMNS, (long) p * groups * k * width);
        Columns.im2rowChannelsLast(image, g, rows, width);
        long[] aOff = new long[groups], bOff = new long[groups], cOff = new long[groups];
        for (int gi = 0; gi < groups; gi++) {
            aOff[gi] = gradOut.offset() + (long) n * g.cout() * p + (long) gi * coutG * p;
            bOff[gi] = (long) gi * k;
            cOff[gi] = at + (long) gi * coutG * k;
        }
        Gemm.multiply(gradOut.dtype(), coutG, k, p, dy, aOff, p, 1, rows, bOff, (long) groups * k, 1, product, cOff, k, 1);
    }

    /**
     * One image's weight gradient as {@link #channelsLastProduct}'s, with the padded channels-last image read in place
     * as the rows instead of copied out per tap (see {@link PaddedImage#positions}): for a ResNet-18 64-channel layer,
     * 7.2 MB less written and read again per image.
     */
    private static void paddedProduct(View input, MemorySegment x, View gradOut, MemorySegment dy, PaddedImage padded,
                                      int n, MemorySegment product, long at) {
        ConvGeometry g = padded.g();
        int coutG = g.coutG(), k = g.k(), p = g.p();
        long[] s = input.strides();
        MemorySegment image = padded.copyChannelsLast(x, input.offset() + n * s[0], s[1], s[2], s[3]);
        PanelRows rows = padded.positions();
        for (int gi = 0; gi < g.groups(); gi++) {
            Gemm.PackedA gradient = Gemm.pack(gradOut.dtype(), coutG, p, dy, gradOut.offset() + (long) n * g.cout() * p + (long) gi * coutG * p, p, 1);
            Gemm.multiplyInPlace(gradient, k, image, rows, padded.tapPanels(gi), product, at + (long) gi * coutG * k, k, 1);
        }
    }

    /**
     * Image n's column matrix (all groups' rows): the image itself for a 1x1 kernel at stride 1, else im2col
     * into this thread's scratch.
     */
    private static Operand columns(View input, MemorySegment x, ConvGeometry g, int n) {
        long[] s = input.strides();
        long image = input.offset() + n * s[0];
        if (g.columnsAreInput(s)) return new Operand(x, image, s[1], g.w() == 1 ? s[2] : s[3], (long) g.cg() * s[1]);
        int width = (int) input.dtype().byteSize();
        long rows = (long) g.groups() * g.k();
        MemorySegment cols = Scratch.get(Scratch.COLUMNS, rows * g.p() * width);
        Columns.im2col(x, image, s[1], s[2], s[3], g, cols, width);
        return new Operand(cols, 0, g.p(), 1, (long) g.k() * g.p());
    }

    /** A column matrix: element (row, position) at {@code base + row * rowStride + position * colStride}. */
    private record Operand(MemorySegment data, long base, long rowStride, long colStride, long groupStride) {
        long groupOffset(int group) { return base + group * groupStride; }
    }

    static boolean splitsOverImages(ConvGeometry g) {
        return g.n() >= WorkerPool.shared().parallelism() && g.macs() >= PARALLEL_MACS;
    }

    /** Runs one task per image: spread over the pool when {@link #splitsOverImages}, else in turn here. */
    static void forEachImage(ConvGeometry g, IntConsumer image) {
        if (splitsOverImages(g)) {
            WorkerPool.shared().run(g.n(), image);
        } else {
            for (int n = 0; n < g.n(); n++) image.accept(n);
        }
    }
}
