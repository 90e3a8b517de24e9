package dev.kiln.cpu.gemm;

import dev.kiln.DType;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.WorkerPool;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.function.IntConsumer;

/**
 * Packed, register-blocked matrix multiplication {@code C = A * B} (alpha 1, beta 0) over memory segments, for
 * float32 and float64, with any strides (transposed operands are only swapped strides) and batches.
 *
 * <p>The blocking follows BLIS, with the roles that suit row-major C: the micro-kernel broadcasts A and loads B as
 * vectors, and an mr-row micro-panel of A (mr x KC) is reused while the kernel sweeps a packed KC x NC block of B;
 * consecutive tiles then walk along C's rows, which the hardware prefetches well. The depth block is deep (see
 * {@link #KC_BYTES}): every block is a pass over C, whose lines come from L3. For each (NC, KC) block, B is packed
 * once and shared by all threads (a hand-off), then the tiles are split over the pool by rows of A (up to
 * {@link #A_BLOCK_ELEMENTS} at a time), each task packing its own rows of A just before it uses them; only when there
 * are too few rows to go round are columns split too, and A is then packed with B, ahead of the tiles.
 * With few rows of A, a row-major B is not packed: the micro-kernel reads its whole column panels in place.
 * A batch of at least a few matrices per thread runs one matrix per task instead, each on its thread's own
 * workspace, and small products stay on the calling thread. Segments must therefore be readable from any thread
 * (global, automatic or shared arenas, not confined ones).
 */
public final class Gemm {

    /**
     * Depth of a block in bytes per row of a micro-panel: 2048 floats or 1024 doubles, a 96 KiB A micro-panel in L2,
     * and a B block (with {@link #NC}) in L3. Each depth block is one more pass over C, reading and writing every
     * tile's lines, and with a C too large for L2 that cost more than the blocks' fit in L1 and L2 saved. Two Zen 4
     * cores (1 MiB L2 each), 384 floats against 2048, best of 3-4 rounds, three runs each: 2048 x 3072 x 768 (m x k x
     * n) 52.2-53.5 against 48.9-49.8 ms; 2048^3 89.8-92.4 against 82.2-83.5; 2048 x 768 x 3072 48.8-49.6 against
     * 47.0-47.8, B transposed 50.2-52.1 against 47.4-47.9; 1024^3 11.06-11.46 against 10.74-10.96; 512^3 no change.
     */
    private static final int KC_BYTES = 8192;
    /**
     * Depth of a block where B is read in place ({@link #IN_PLACE_MAX_M}): no B block is held in L2 there, so the depth
     * bounds only A's micro-panel (27 KiB of floats) and the passes over C. ResNet-18's 3x3 layer (K = 576) in one
     * block rather than two took 37.5-38.2 against 38.5-38.9 ms (forward, batch 32, two Zen 4 cores), its input
     * gradient 37.6-38.1 against 38.6-38.7 and its weight gradient 40.1-40.9 against 41.1.
     */
    private static final int IN_PLACE_KC_BYTES = 2304;
    /** Width of a packed B block: with KC, 6 MB for either type. 256 and 128 were slower (2048 x 3072 x 768 on one core). */
    private static final int NC = 768;
    /**
     * Elements of A (rows rounded up to whole panels, times the depth) up to which a product over several column blocks
     * of B packs A once for all of them ({@code packedOnce}): 32 MiB of floats in the calling thread's workspace. At 16
     * MiB, 2048 x 2048 x 2048 (4.2 million elements of A, three column blocks) packed A three times: 91.6-96.6 ms on two
     * Zen 4 cores, against 89.8-91.4 packed once.
     */
    private static final long PACKED_ONCE_MAX = 1L << 23;
    /** Elements of A packed at once (rows times the depth block), a bound on the shared workspace (about 3.5 MB of floats). */
    private static final int A_BLOCK_ELEMENTS = 2304 * 384;
    /** Multiply-adds below which one thread does the whole product: waking a worker costs ~50 us. */
    private static final long PARALLEL_MACS = 1L << 21;
    /**
     * Rows of A up to which a row-major B (unit column stride) is read in place rather than packed, where a panel's
     * row is at least {@link #IN_PLACE_ROW_BYTES} (two cache lines: AVX-512). Packing costs a pass over B, which pays
     * off only once many row panels of A reuse it: on Zen 5, 64 x 576 times 576 x 3136 (a ResNet convolution's
     * product) took 0.57 ms in place against 0.69 packed, and in place was at least as fast up to 384 rows (3.43
     * against 3.58 ms), even at 512 (4.50 against 4.45), and slower only from about 1024 (square: 5.66 against 5.32).
     */
    private static final int IN_PLACE_MAX_M = 384;
    /**
     * Where a panel row is one cache line (256-bit vectors), the limit is this instead: there the 64-row product was
     * already slower in place (1.36 against 1.21 ms), and the LSTM's 32-row products are what it is for.
     */
    private static final int IN_PLACE_MAX_M_NARROW = 48;
    /** Bytes of one row of a column panel from which {@link #IN_PLACE_MAX_M} applies. */
    private static final int IN_PLACE_ROW_BYTES = 128;
    /** Tasks per thread, so a thread slowed by something else on the machine does not hold everyone up. */
    private static final int TASKS_PER_THREAD = 3;

    private static final Blocked<float[]> FLOAT = new Blocked<>(FloatPanelKernel.INSTANCE);
    private static final Blocked<double[]> DOUBLE = new Blocked<>(DoublePanelKernel.INSTANCE);

    private Gemm() {}

    /** Rows of A up to which a row-major B of this type is read in place (see {@link #IN_PLACE_MAX_M}). */
    static int inPlaceMaxRows(DType dtype) { return (dtype == DType.FLOAT64 ? DOUBLE : FLOAT).inPlaceMaxM; }

    /**
     * The backend's matmul: {@code out[..., m, n] = a[..., m, k] * b[..., k, n]}, three views of one rank with
     * the batch dimensions of a and b already broadcast to out's (stride 0 where they repeat), each over the
     * given memory segment.
     */
    public static void matmul(View a, MemorySegment aData, View b, MemorySegment bData, View out, MemorySegment outData) {
        int r = out.rank();
        int m = out.shape()[r - 2], n = out.shape()[r - 1], k = a.shape()[r - 1];
        int batch = 1;
        for (int d = 0; d < r - 2; d++) batch *= out.shape()[d];
        long[] ao = new long[batch], bo = new long[batch], co = new long[batch];
        int[] index = new int[Math.max(0, r - 2)];
        for (int i = 0; i < batch; i++) {
            ao[i] = offset(a, index);
            bo[i] = offset(b, index);
            co[i] = offset(out, index);
            for (int d = r - 3; d >= 0 && ++index[d] == out.shape()[d]; d--) index[d] = 0;
        }
        multiply(out.dtype(), m, n, k,
                aData, ao, a.strides()[r - 2], a.strides()[r - 1],
                bData, bo, b.strides()[r - 2], b.strides()[r - 1],
                outData, co, out.strides()[r - 2], out.strides()[r - 1]);
    }

    private static long offset(View v, int[] batchIndex) {
        long o = v.offset();
        for (int d = 0; d < batchIndex.length; d++) o += batchIndex[d] * v.strides()[d];
        return o;
    }

    /**
     * A batch of products {@code C_i = A_i * B_i} with shared shapes and strides; matrix i of each operand
     * starts at element {@code xOffsets[i]}. Strides and offsets count elements. C's matrices must not overlap.
     */
    public static void multiply(DType dtype, int m, int n, int k,
                                MemorySegment a, long[] aOffsets, long aRowStride, long aColStride,
                                MemorySegment b, long[] bOffsets, long bRowStride, long bColStride,
                                MemorySegment c, long[] cOffsets, long cRowStride, long cColStride) {
        blocked(dtype).multiply(m, n, k, a, aOffsets, aRowStride, aColStride, b, bOffsets, bRowStride, bColStride,
                c, cOffsets, cRowStride, cColStride);
    }

    /** Columns of the micro-kernel's tile for this type: a gathered B's width must be a multiple of it. */
    public static int panelWidth(DType dtype) { return blocked(dtype).nr; }

    /**
     * One product {@code C = A * B} whose B is read in place, with no copy of it made: element (p, j) of B is at
     * element {@code panels[j / w] + j % w} past row p of {@code rows}, where w is {@link #panelWidth}, which n must
     * be a multiple of. Neither B's rows nor its panels need be evenly spaced: a convolution reads its padded input
     * image as its column matrix this way, each tap a shift of the image (see {@code Convolution}), and so never
     * writes that matrix out. Strides and offsets count elements.
     */
    public static void multiplyInPlace(PackedA a, int n, MemorySegment b, PanelRows rows, long[] panels,
                                       MemorySegment c, long cOffset, long cRowStride, long cColStride) {
        Blocked<?> kernel = blocked(a.dtype);
        if (n % kernel.nr != 0 || panels.length < n / kernel.nr) {
            throw new IllegalArgumentException("matmul: B read in place as " + a.k + " x " + n + " needs a width that is a multiple of "
                    + kernel.nr + " and " + n / kernel.nr + " panel offsets, not " + panels.length);
        }
        kernel.inPlace(a, n, b, new InPlace(rows, panels, kernel.nr), c, cOffset, cRowStride, cColStride);
    }

    /**
     * An m x k matrix A (element (i, p) at {@code offset + i * rowStride + p * colStride}) packed once for the
     * micro-kernel, for many products with it: a convolution packs its weight once per call rather than once per
     * image (a ResNet-18 7x7 layer's 512 x 4608 weight is 2.4 million elements, against 115 million multiply-adds per
     * image). The panels are a copy in the calling thread's workspace, reused: valid until that thread packs again,
     * and readable from any thread meanwhile.
     */
    public static PackedA pack(DType dtype, int m, int k, MemorySegment a, long offset, long rowStride, long colStride) {
        return packEach(dtype, m, k, a, new long[] {offset}, rowStride, colStride)[0];
    }

    /**
     * Several m x k matrices packed as by {@link #pack}, matrix i from element {@code offsets[i]}, one after another in
     * the calling thread's workspace: Winograd's convolution multiplies by 16 transformed weights per call.
     */
    public static PackedA[] packEach(DType dtype, int m, int k, MemorySegment a, long[] offsets, long rowStride, long colStride) {
        return blocked(dtype).packEach(m, k, a, offsets, rowStride, colStride);
    }

    /** {@code C = A * B} for one n-column B (strides and offsets in elements), with A packed by {@link #pack}. */
    public static void multiply(PackedA a, int n, MemorySegment b, long bOffset, long bRowStride, long bColStride,
                                MemorySegment c, long cOffset, long cRowStride, long cColStride) {
        blocked(a.dtype).multiply(a, n, b, bOffset, bRowStride, bColStride, c, cOffset, cRowStride, cColStride, false);
    }

    /** {@code C += A * B}, otherwise as {@link #multiply(PackedA, int, MemorySegment, long, long, long, MemorySegment, long, long, long)}. */
    public static void multiplyAdd(PackedA a, int n, MemorySegment b, long bOffset, long bRowStride, long bColStride,
                                   MemorySegment c, long cOffset, long cRowStride, long cColStride) {
        blocked(a.dtype).multiply(a, n, b, bOffset, bRowStride, bColStride, c, cOffset, cRowStride, cColStride, true);
    }

    /** Rows of A's panels for this type: an A written straight into panels ({@link #packed}) comes in runs of these. */
    public static int panelHeight(DType dtype) { return blocked(dtype).mr; }

    /**
     * A float32 A its producer wrote in panel layout, as {@link #pack} would: from element {@code base} of
     * {@code panels}, the rows in panels of {@link #panelHeight} one after another, each over the whole depth k,
     * depth step p's rows adjacent; element (i, p) at {@code base + (i / mr) * mr * k + p * mr + i % mr}, the last
     * panel's rows past m zero. Winograd's weight gradient writes its transformed output gradients this way, which
     * saves a pass that would touch every element again for a product that uses each only a few dozen times.
     */
    public static PackedA packed(float[] panels, int base, int m, int k) {
        return new PackedA(DType.FLOAT32, m, k, FLOAT.mr, panels, base);
    }

    /**
     * A's row panels (mr x k each, the last zero-padded) over the whole depth, one after the other, each laid out as
     * {@link Blocked#product} packs a depth block: a product may then read it in depth blocks of any size, the size
     * its B calls for.
     */
    public static final class PackedA {
        private final DType dtype;
        private final int m, k, mr, base;
        private final Object panels;

        private PackedA(DType dtype, int m, int k, int mr, Object panels, int base) {
            this.dtype = dtype;
            this.m = m;
            this.k = k;
            this.mr = mr;
            this.panels = panels;
            this.base = base;
        }

        /** Where the panel of rows from {@code row} (a whole panel's first) starts its depth block from pc. */
        int panel(int pc, int row) { return base + row * k + pc * mr; }
    }

    private static Blocked<?> blocked(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> FLOAT;
            case FLOAT64 -> DOUBLE;
            default -> throw new IllegalArgumentException("matmul: GEMM supports float32 and float64, not " + dtype);
        };
    }

    /**
     * A B read in place: element (p, j) at {@code panel(j / nr) + j % nr} past row p of {@code rows}; without a table
     * of panels (a row-major matrix), panel j starts j * nr in.
     */
    private record InPlace(PanelRows rows, long[] panels, int nr) {
        /** A row-major B (unit column stride) from element {@code offset}, rows {@code rowStride} apart. */
        static InPlace strided(long offset, long rowStride, int nr) { return new InPlace(PanelRows.even(offset, rowStride), null, nr); }

        long panel(int j) { return panels == null ? (long) j * nr : panels[j]; }
    }

    /** Offsets of the column panels of a B whose columns are contiguous: panel j at j * nr. */
    public static long[] evenPanels(int n, int nr) {
        long[] panels = new long[Math.ceilDiv(n, nr)];
        for (int j = 0; j < panels.length; j++) panels[j] = (long) j * nr;
        return panels;
    }

    /** Runs tasks 0..count-1: on the worker pool, or in turn on the calling thread. */
    private interface Tasks {
        Tasks INLINE = (count, body) -> {
            for (int t = 0; t < count; t++) body.accept(t);
        };

        void run(int count, IntConsumer body);
    }

    /** The type-agnostic driver over one element type's {@link PanelKernel}. */
    private static final class Blocked<W> {
        private final PanelKernel<W> kernel;
        private final int mr, nr, kcMax, kcInPlace, inPlaceMaxM;
        /** A packed B panel's rows, nr elements apart. */
        private final PanelRows packedRows;
        private final ThreadLocal<Workspace<W>> workspace;

        Blocked(PanelKernel<W> kernel) {
            this.kernel = kernel;
            this.mr = kernel.mr();
            this.nr = kernel.nr();
            this.kcMax = KC_BYTES / kernel.elementSize();
            this.kcInPlace = IN_PLACE_KC_BYTES / kernel.elementSize();
            this.inPlaceMaxM = nr * kernel.elementSize() >= IN_PLACE_ROW_BYTES ? IN_PLACE_MAX_M : IN_PLACE_MAX_M_NARROW;
            this.packedRows = PanelRows.even(0, nr);
            this.workspace = ThreadLocal.withInitial(() -> new Workspace<>(kernel));
        }

        /**
         * Equal depth blocks of at most kcMax, or kcInPlace where B is read in place: a remainder block of a few k
         * would waste a whole pass.
         */
        private int depthBlock(int k, boolean bInPlace) {
            int max = bInPlace ? kcInPlace : kcMax;
            return Math.max(1, Math.ceilDiv(k, Math.max(1, Math.ceilDiv(k, max))));
        }

        PackedA[] packEach(int m, int k, MemorySegment a, long[] offsets, long ars, long acs) {
            int size = roundUp(m, mr) * k;
            W panels = workspace.get().packed(kernel, Math.max(1, size * offsets.length));
            PackedA[] packed = new PackedA[offsets.length];
            for (int i = 0; i < offsets.length; i++) packed[i] = packWhole(m, k, Left.raw(a, offsets[i], ars, acs), panels, i * size, Tasks.INLINE, 1);
            return packed;
        }

        /**
         * All of A (m x k) packed into {@code panels} from element {@code base} as a {@link PackedA}, its row panels split
         * over {@code parts} tasks.
         */
        private PackedA packWhole(int m, int k, Left<W> raw, W panels, int base, Tasks tasks, int parts) {
            int rowPanels = Math.ceilDiv(m, mr), packParts = Math.max(1, Math.min(parts, rowPanels));
            if (k > 0) {
                tasks.run(packParts, t -> packA(raw.a(), raw.offset(), raw.rowStride(), raw.colStride(), m, k, panels, base,
                        rowPanels * t / packParts, rowPanels * (t + 1) / packParts));
            }
            return new PackedA(kernel.elementSize() == 4 ? DType.FLOAT32 : DType.FLOAT64, m, k, mr, panels, base);
        }

        /** Whether a product of this size is split over the pool: as {@link #multiply} decides for one product. */
        private boolean splits(int m, int n, int k) {
            return WorkerPool.shared().parallelism() > 1 && (long) m * n * Math.max(k, 1) >= PARALLEL_MACS;
        }

        /** {@link Gemm#multiplyInPlace}: split over the pool as {@link #multiply} would split one product. */
        void inPlace(PackedA a, int n, MemorySegment b, InPlace direct, MemorySegment c, long cOff, long crs, long ccs) {
            if (a.m == 0 || n == 0) return;
            boolean parallel = splits(a.m, n, a.k);
            fewRows(a.m, n, a.k, depthBlock(a.k, true), Left.ahead(a), b, direct, c, cOff, crs, ccs, false,
                    parallel ? WorkerPool.shared()::run : Tasks.INLINE, parallel ? WorkerPool.shared().parallelism() * TASKS_PER_THREAD : 1);
        }

        void multiply(PackedA a, int n, MemorySegment b, long bOff, long brs, long bcs, MemorySegment c, long cOff, long crs, long ccs,
                      boolean add) {
            if (a.m == 0 || n == 0) return;
            boolean parallel = splits(a.m, n, a.k);
            product(a.m, n, a.k, Left.ahead(a), b, bOff, brs, bcs, c, cOff, crs, ccs, add,
                    parallel ? WorkerPool.shared()::run : Tasks.INLINE, parallel ? WorkerPool.shared().parallelism() : 1);
        }

        void multiply(int m, int n, int k,
                      MemorySegment a, long[] aOffsets, long ars, long acs,
                      MemorySegment b, long[] bOffsets, long brs, long bcs,
                      MemorySegment c, long[] cOffsets, long crs, long ccs) {
            int batch = cOffsets.length;
            if (batch == 0 || m == 0 || n == 0) return;
            WorkerPool pool = WorkerPool.shared();
            int threads = pool.parallelism();
            long macs = (long) m * n * Math.max(k, 1);
            if (threads == 1 || macs * batch < PARALLEL_MACS) {
                for (int i = 0; i < batch; i++)
                    product(m, n, k, Left.raw(a, aOffsets[i], ars, acs), b, bOffsets[i], brs, bcs, c, cOffsets[i], crs, ccs, false, Tasks.INLINE, 1);
            } else if (batch >= 2 * threads || macs < PARALLEL_MACS) {
                // Whole matrices per task: no hand-offs inside a product, and each thread packs into its own workspace.
                pool.run(batch, i -> product(m, n, k, Left.raw(a, aOffsets[i], ars, acs), b, bOffsets[i], brs, bcs,
                        c, cOffsets[i], crs, ccs, false, Tasks.INLINE, 1));
            } else {
                for (int i = 0; i < batch; i++)
                    product(m, n, k, Left.raw(a, aOffsets[i], ars, acs), b, bOffsets[i], brs, bcs, c, cOffsets[i], crs, ccs, false, pool::run, threads);
            }
        }

        /**
         * One product, each step of each block split into about {@code threads * TASKS_PER_THREAD} tasks run by
         * {@code tasks}. The packed panels are the calling thread's workspace, which the tasks share; only the
         * scratch tile the micro-kernel stores through is each running thread's own.
         */
        private void product(int m, int n, int k, Left<W> left,
                             MemorySegment b, long bOff, long brs, long bcs,
                             MemorySegment c, long cOff, long crs, long ccs, boolean add, Tasks tasks, int threads) {
            boolean inPlace = readsBInPlace(m, bcs);
            // Equal blocks: a remainder block of a few columns would waste a whole pass.
            int kcSize = depthBlock(k, inPlace);
            int nBlocks = Math.ceilDiv(n, NC), ncSize = roundUp(Math.ceilDiv(n, nBlocks), nr);
            int mBlocks = Math.ceilDiv(m, Math.max(mr, A_BLOCK_ELEMENTS / kcSize)), mbSize = roundUp(Math.ceilDiv(m, mBlocks), mr);
            Workspace<W> ws = workspace.get();
            int parts = threads == 1 ? 1 : threads * TASKS_PER_THREAD;
            InPlace direct = inPlace ? InPlace.strided(bOff, brs, nr) : null;
            if (inPlace && n % nr == 0 && parts > 1) {
                fewRows(m, n, k, kcSize, left, b, direct, c, cOff, crs, ccs, add, tasks, parts);
                return;
            }
            Left<W> lhs = left.packed() == null && nBlocks > 1 && (long) roundUp(m, mr) * k <= PACKED_ONCE_MAX
                    ? packedOnce(m, k, left, ws, tasks, parts) : left;
            ws.reserve(kernel, lhs.workspace(mbSize * kcSize), ncSize * kcSize);
            W pa = lhs.panels(ws);
            MemorySegment pb = ws.b;
            for (int jc = 0; jc < n; jc += ncSize) {
                int nc = Math.min(ncSize, n - jc), colPanels = Math.ceilDiv(nc, nr);
                // Read in place, whole column panels only: a ragged last one is still packed (zero-padded), as
                // the kernel loads whole vectors, which could run past B's end.
                int firstPacked = inPlace ? nc / nr : 0, packedPanels = colPanels - firstPacked;
                for (int pc = 0; pc == 0 || pc < k; pc += kcSize) {
                    int kc = Math.min(kcSize, k - pc);
                    boolean accumulate = add || pc > 0;
                    long bBlock = bOff + pc * brs + jc * bcs;
                    for (int ic = 0; ic < m; ic += mbSize) {
                        int mb = Math.min(mbSize, m - ic), rowPanels = Math.ceilDiv(mb, mr);
                        int kStart = pc, row = ic, firstPanel = jc / nr;
                        boolean packB = ic == 0 && packedPanels > 0;
                        // Tiles: row panels split first, and then each task packs its own rows of A just before
                        // using them from L1 across the whole B block; columns are split too when there are too
                        // few row panels to go round, and A's panels are then packed with B's, ahead of the tiles.
                        int rowParts = Math.min(rowPanels, parts);
                        int colParts = Math.min(colPanels, Math.ceilDiv(parts, rowParts));
                        boolean packAFirst = colParts > 1 && lhs.packed() == null;
                        if (packB || packAFirst) {
                            // A alone (fewer rows than tasks) is a few thousand elements: not worth a hand-off.
                            int packParts = packB ? Math.min(parts, packedPanels) : 1;
                            (packB ? tasks : Tasks.INLINE).run(packParts, t -> {
                                if (packB) {
                                    packB(b, bBlock, brs, bcs, kc, nc, pb, firstPacked + packedPanels * t / packParts,
                                            firstPacked + packedPanels * (t + 1) / packParts);
                                }
                                if (packAFirst) lhs.pack(this, kStart, row, mb, kc, pa, rowPanels * t / packParts, rowPanels * (t + 1) / packParts);
                            });
                        }
                        long cBlock = cOff + ic * crs + jc * ccs;
                        tasks.run(rowParts * colParts, t -> {
                            int rp = t / colParts, cp = t % colParts;
                            int r0 = rowPanels * rp / rowParts, r1 = rowPanels * (rp + 1) / rowParts;
                            int c0 = colPanels * cp / colParts, c1 = colPanels * (cp + 1) / colParts;
                            if (!packAFirst) lhs.pack(this, kStart, row, mb, kc, pa, r0, r1);
                            W scratch = workspace.get().scratch;
                            for (int ip = r0; ip < r1; ip++) {
                                int ir = ip * mr, rows = Math.min(mr, mb - ir);
                                for (int jp = c0; jp < c1; jp++) {
                                    int jr = jp * nr, cols = Math.min(nr, nc - jr);
                                    long cTile = cBlock + ir * crs + jr * ccs;
                                    if (jp < firstPacked) {
                                        kernel.tile(kc, pa, lhs.panel(kStart, kc, row, ir), b, direct.rows, kStart, direct.panel(firstPanel + jp), c,
                                                cTile, crs, ccs, rows, cols, accumulate, scratch);
                                    } else {
                                        kernel.tile(kc, pa, lhs.panel(kStart, kc, row, ir), pb, packedRows, 0, (long) jr * kc, c, cTile, crs, ccs,
                                                rows, cols, accumulate, scratch);
                                    }
                                }
                            }
                        });
                    }
                }
            }
        }

        /**
         * A packed once, ahead of the tiles, into this thread's workspace, its row panels split over the tasks. With
         * B in several column blocks, each block's tasks would pack their rows of A again: 1024 x 1024 x 1024 packed
         * A twice, and packing was 10.5% of the product on one thread (2.45 of 23.4 ms).
         */
        private Left<W> packedOnce(int m, int k, Left<W> raw, Workspace<W> ws, Tasks tasks, int parts) {
            ws.reserve(kernel, roundUp(m, mr) * k, 0);
            return Left.ahead(packWhole(m, k, raw, ws.a, 0, tasks, parts));
        }

        /**
         * Few rows of A, every column panel of B read in place: one hand-off per product, each task packing the rows
         * of A it needs for every depth block into its own thread's workspace. Packing A apart, with a hand-off per
         * depth block, held the LSTM's 32-row products to about one thread's speed. The tiles and the order of the
         * depth blocks are those of the blocked path, so the results are the same bits.
         */
        private void fewRows(int m, int n, int k, int kcSize, Left<W> left,
                             MemorySegment b, InPlace direct, MemorySegment c, long cOff, long crs, long ccs, boolean add,
                             Tasks tasks, int parts) {
            int rowPanels = Math.ceilDiv(m, mr), colPanels = n / nr;
            int rowParts = Math.min(rowPanels, parts), colParts = Math.min(colPanels, Math.ceilDiv(parts, rowParts));
            tasks.run(rowParts * colParts, t -> {
                int rp = t / colParts, cp = t % colParts;
                int r0 = rowPanels * rp / rowParts, r1 = rowPanels * (rp + 1) / rowParts;
                int c0 = colPanels * cp / colParts, c1 = colPanels * (cp + 1) / colParts;
                Workspace<W> ws = workspace.get();
                ws.reserve(kernel, left.workspace(rowPanels * mr * kcSize), 0);
                W pa = left.panels(ws);
                for (int pc = 0; pc == 0 || pc < k; pc += kcSize) {
                    int kc = Math.min(kcSize, k - pc);
                    left.pack(this, pc, 0, m, kc, pa, r0, r1);
                    for (int ip = r0; ip < r1; ip++) {
                        int ir = ip * mr, rows = Math.min(mr, m - ir);
                        for (int jp = c0; jp < c1; jp++) {
                            int jr = jp * nr;
                            kernel.tile(kc, pa, left.panel(pc, kc, 0, ir), b, direct.rows, pc, direct.panel(jp), c, cOff + ir * crs + jr * ccs,
                                    crs, ccs, rows, nr, add || pc > 0, ws.scratch);
                        }
                    }
                }
            });
        }

        /**
         * The A of a product: packed ahead (then {@code packed} is set and nothing is packed here), or a matrix whose
         * blocks each task packs as it needs them into its thread's workspace.
         */
        private record Left<W>(PackedA packed, MemorySegment a, long offset, long rowStride, long colStride) {
            static <W> Left<W> raw(MemorySegment a, long offset, long rowStride, long colStride) {
                return new Left<>(null, a, offset, rowStride, colStride);
            }

            static <W> Left<W> ahead(PackedA packed) { return new Left<>(packed, null, 0, 0, 0); }

            /** Workspace elements A needs, for {@code block} of them packed here: none when packed ahead. */
            int workspace(int block) { return packed == null ? block : 0; }

            /** The panels the micro-kernel reads A from: the workspace's, or those packed ahead. */
            @SuppressWarnings("unchecked")
            W panels(Workspace<W> ws) { return packed == null ? ws.a : (W) packed.panels; }

            /**
             * Where the panel of rows from {@code blockRow + ir} (ir a whole panel's first row in the block) starts its
             * depth block from pc of size kc: in the panels packed ahead, or in the workspace, which holds the block alone.
             */
            int panel(int pc, int kc, int blockRow, int ir) { return packed == null ? ir * kc : packed.panel(pc, blockRow + ir); }

            /** Packs row panels [from, to) of the mb-row block from row {@code row} and depth pc into pa, unless packed ahead. */
            void pack(Blocked<W> blocked, int pc, int row, int mb, int kc, W pa, int from, int to) {
                if (packed == null) blocked.packA(a, offset + row * rowStride + pc * colStride, rowStride, colStride, mb, kc, pa, 0, from, to);
            }
        }

        private boolean readsBInPlace(int m, long bColStride) { return bColStride == 1 && m <= inPlaceMaxM; }

        /** Packs row panels [from, to) of the mb x kc block of A at element {@code block}, each to its place in pa past {@code at}. */
        private void packA(MemorySegment a, long block, long ars, long acs, int mb, int kc, W pa, int at, int from, int to) {
            if (to <= from) return;
            kernel.packA(a, block + (long) from * mr * ars, ars, acs, Math.min(mb, to * mr) - from * mr, kc, pa, at + from * mr * kc);
        }

        /** Packs column panels [from, to) of the kc x nc block of B at element {@code block}, each to its place in pb. */
        private void packB(MemorySegment b, long block, long brs, long bcs, int kc, int nc, MemorySegment pb, int from, int to) {
            if (to <= from) return;
            kernel.packB(b, block + (long) from * nr * bcs, brs, bcs, kc, Math.min(nc, to * nr) - from * nr, pb,
                    (long) from * nr * kc);
        }
    }

    /** One thread's packed panels (grown on demand), its scratch tile, and the A it last packed ahead ({@link #pack}). */
    private static final class Workspace<W> {
        W a, packed;
        int aSize, packedSize;
        MemorySegment b = MemorySegment.NULL;
        final W scratch;

        Workspace(PanelKernel<W> kernel) { scratch = kernel.allocate(kernel.mr() * kernel.nr()); }

        W packed(PanelKernel<W> kernel, int elements) {
            if (packedSize < elements) {
                packed = kernel.allocate(elements);
                packedSize = elements;
            }
            return packed;
        }

        void reserve(PanelKernel<W> kernel, int aElements, int bElements) {
            if (aSize < aElements) {
                a = kernel.allocate(aElements);
                aSize = aElements;
            }
            long bBytes = (long) bElements * kernel.elementSize();
            if (b.byteSize() < bBytes) b = Arena.ofAuto().allocate(bBytes, 64);
        }
    }

    private static int roundUp(int x, int unit) { return (x + unit - 1) / unit * unit; }
}
