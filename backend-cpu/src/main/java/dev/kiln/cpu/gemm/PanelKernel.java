package dev.kiln.cpu.gemm;

import java.lang.foreign.MemorySegment;

/**
 * One element type's share of GEMM: packing operands into panels and the register-blocked micro-kernel.
 * Everything else (blocking, task splitting, threads) is type-agnostic and lives in {@link Gemm}.
 *
 * <p>Packed layouts: A is cut into micro-panels of {@link #mr()} rows stored k-major (for each k, mr values);
 * B into micro-panels of {@link #nr()} columns, also k-major. Ragged edges are zero-padded, so the
 * micro-kernel always computes a full mr x nr tile and only its store is partial. A's panels are a heap array,
 * whose scalar reads C2 frees of bounds checks; B's are native memory aligned to 64 bytes, because the kernel
 * loads them as whole vectors and a vector straddling two cache lines (as in a heap array, which starts wherever
 * the collector put it) costs about a tenth of the kernel's speed.
 *
 * @param <W> the packed-workspace array type (float[] or double[])
 */
interface PanelKernel<W> {

    int mr();

    int nr();

    /** Bytes per element. */
    int elementSize();

    W allocate(int elements);

    /**
     * Packs the mc x kc block of A at element {@code offset} (strides in elements) into mr-row panels, from
     * element {@code at} of {@code dst}.
     */
    void packA(MemorySegment a, long offset, long rowStride, long colStride, int mc, int kc, W dst, int at);

    /** Packs the kc x nc block of B at element {@code offset} into nr-column panels, from element {@code at} of {@code dst}. */
    void packB(MemorySegment b, long offset, long rowStride, long colStride, int kc, int nc, MemorySegment dst, long at);

    /**
     * C tile (rows x cols, at most mr x nr) = (accumulate ? C : 0) + packedA panel * B panel over kc. The B panel
     * is nr contiguous elements per k step p, from element {@code bColumn} past row {@code bRow + p} of
     * {@code bRows}: a packed panel (rows nr apart), or nr whole columns of a B read in place, whose rows may come in
     * runs (see {@link PanelRows}). {@code scratch} holds at least mr * nr elements, for tiles the kernel cannot
     * store with whole vectors.
     */
    void tile(int kc, W packedA, int aIndex, MemorySegment b, PanelRows bRows, int bRow, long bColumn, MemorySegment c,
              long cOffset, long cRowStride, long cColStride, int rows, int cols, boolean accumulate, W scratch);
}
