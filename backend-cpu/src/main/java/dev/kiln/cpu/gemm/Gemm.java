package dev.kiln.cpu.gemm;

import dev.kiln.DType;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.WorkerPool;

import java.lang.foreign.MemorySegment;

/**
 * Packed, register-blocked matrix multiplication {@code C = A * B} (alpha 1, beta 0) over memory segments, for
 * float32 and float64, with any strides (transposed operands are only swapped strides) and batches.
 *
 * <p>The blocking is the usual GotoBLAS/BLIS shape: for each block of NC columns and KC depth, B is packed
 * into column panels that stay in L1 while the micro-kernel sweeps them; for each MC rows A is packed into row
 * panels that stay in L2. Threads split the batch and then C's rows (its columns when rows are few) into disjoint
 * blocks, each worked on with the serial algorithm; small products stay on the calling thread. Segments must
 * therefore be readable from any thread (global, automatic or shared arenas, not confined ones).
 */
public final class Gemm {

    private static final int KC = 256;
    private static final int MC_PANELS = 12;
    private static final int NC = 2048;
    /** Multiply-adds below which one thread does the whole product: waking a worker costs ~50 us. */
    private static final long PARALLEL_MACS = 1L << 21;
    /** Tasks per thread, so a thread slowed by something else on the machine does not hold everyone up. */
    private static final int TASKS_PER_THREAD = 2;

    private static final Blocked<float[]> FLOAT = new Blocked<>(FloatPanelKernel.INSTANCE);
    private static final Blocked<double[]> DOUBLE = new Blocked<>(DoublePanelKernel.INSTANCE);

    private Gemm() {}

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
        Blocked<?> kernel = switch (dtype) {
            case FLOAT32 -> FLOAT;
            case FLOAT64 -> DOUBLE;
            default -> throw new IllegalArgumentException("matmul: GEMM supports float32 and float64, not " + dtype);
        };
        kernel.multiply(m, n, k, a, aOffsets, aRowStride, aColStride, b, bOffsets, bRowStride, bColStride,
                c, cOffsets, cRowStride, cColStride);
    }

    /** The type-agnostic driver over one element type's {@link PanelKernel}. */
    private static final class Blocked<W> {
        private final PanelKernel<W> kernel;
        private final int mr, nr, mc;
        private final ThreadLocal<Workspace<W>> workspace;

        Blocked(PanelKernel<W> kernel) {
            this.kernel = kernel;
            this.mr = kernel.mr();
            this.nr = kernel.nr();
            this.mc = MC_PANELS * mr;
            this.workspace = ThreadLocal.withInitial(() -> new Workspace<>(
                    kernel.allocate(mc * KC), kernel.allocate(KC * roundUp(NC, nr)), kernel.allocate(mr * nr)));
        }

        void multiply(int m, int n, int k,
                      MemorySegment a, long[] aOffsets, long ars, long acs,
                      MemorySegment b, long[] bOffsets, long brs, long bcs,
                      MemorySegment c, long[] cOffsets, long crs, long ccs) {
            int batch = cOffsets.length;
            if (batch == 0 || m == 0 || n == 0) return;
            WorkerPool pool = WorkerPool.shared();
            long macs = (long) batch * m * n * Math.max(k, 1);
            int wanted = macs < PARALLEL_MACS ? 1
                    : (int) Math.min((long) pool.parallelism() * TASKS_PER_THREAD, macs / PARALLEL_MACS);
            int perMatrix = Math.max(1, (wanted + batch - 1) / batch);
            // Row blocks are preferred: each task then packs its own rows of A once and only re-packs B,
            // whose packing is vectorised; column blocks would re-pack all of A per task.
            boolean splitColumns = m < perMatrix * mr * 2 && n > m;
            int extent = splitColumns ? n : m, unit = splitColumns ? nr : mr;
            int chunk = roundUp((extent + perMatrix - 1) / perMatrix, unit);
            int parts = (extent + chunk - 1) / chunk;
            pool.run(batch * parts, t -> {
                int i = t / parts, from = (t % parts) * chunk, len = Math.min(chunk, extent - from);
                if (splitColumns) {
                    serial(m, len, k, a, aOffsets[i], ars, acs, b, bOffsets[i] + from * bcs, brs, bcs,
                            c, cOffsets[i] + from * ccs, crs, ccs);
                } else {
                    serial(len, n, k, a, aOffsets[i] + from * ars, ars, acs, b, bOffsets[i], brs, bcs,
                            c, cOffsets[i] + from * crs, crs, ccs);
                }
            });
        }

        private void serial(int m, int n, int k, MemorySegment a, long aOff, long ars, long acs,
                            MemorySegment b, long bOff, long brs, long bcs,
                            MemorySegment c, long cOff, long crs, long ccs) {
            Workspace<W> ws = workspace.get();
            if (k == 0) {
                // An empty sum: the zero-padded panels give a zero tile of C.
                for (int jr = 0; jr < n; jr += nr)
                    for (int ir = 0; ir < m; ir += mr)
                        kernel.tile(0, ws.a, 0, ws.b, 0, c, cOff + ir * crs + jr * ccs, crs, ccs,
                                Math.min(mr, m - ir), Math.min(nr, n - jr), false, ws.scratch);
                return;
            }
            // Equal depth blocks: a remainder block of a few k would waste a whole pass over C.
            int kBlocks = (k + KC - 1) / KC, kcSize = (k + kBlocks - 1) / kBlocks;
            for (int jc = 0; jc < n; jc += NC) {
                int nc = Math.min(NC, n - jc);
                for (int pc = 0; pc < k; pc += kcSize) {
                    int kc = Math.min(kcSize, k - pc);
                    kernel.packB(b, bOff + pc * brs + jc * bcs, brs, bcs, kc, nc, ws.b);
                    for (int ic = 0; ic < m; ic += mc) {
                        int mcs = Math.min(mc, m - ic);
                        kernel.packA(a, aOff + ic * ars + pc * acs, ars, acs, mcs, kc, ws.a);
                        for (int jr = 0; jr < nc; jr += nr) {
                            for (int ir = 0; ir < mcs; ir += mr) {
                                kernel.tile(kc, ws.a, ir * kc, ws.b, jr * kc,
                                        c, cOff + (long) (ic + ir) * crs + (long) (jc + jr) * ccs, crs, ccs,
                                        Math.min(mr, mcs - ir), Math.min(nr, nc - jr), pc > 0, ws.scratch);
                            }
                        }
                    }
                }
            }
        }
    }

    private record Workspace<W>(W a, W b, W scratch) {}

    private static int roundUp(int x, int unit) { return (x + unit - 1) / unit * unit; }
}
