package dev.kiln.cuda;

/**
 * A row-major batched product {@code C[b] = A[b] · B[b]} (A m×k, B k×n, C m×n, every operand given by its element
 * strides) as the arguments of one column-major {@code cublasGemmStridedBatchedEx} call.
 *
 * <p>The swap trick: a row-major matrix read column-major is its transpose, so cuBLAS computes
 * {@code Cᵀ = Bᵀ · Aᵀ} with the operands exchanged ({@code m'=n, n'=m}) and writes C row-major. An operand whose
 * columns are unit-stride is used as stored ({@code N}, leading dimension = its row stride); one whose rows are
 * unit-stride (a transposed view) is used transposed ({@code T}, leading dimension = its column stride); any other
 * layout has no cuBLAS form ({@link #of} returns null and the caller makes it contiguous or uses its own kernel).
 * A dimension of size 1 places no requirement on its stride. Batch strides may be 0 for a broadcast operand.
 *
 * @param transa cuBLAS operation on its A argument (Kiln's B): 0 = N, 1 = T
 * @param transb cuBLAS operation on its B argument (Kiln's A)
 */
record GemmMapping(int transa, int transb, int m, int n, int k, int lda, long strideA, int ldb, long strideB,
                   int ldc, long strideC, int batch) {
    static final int OP_N = 0, OP_T = 1;

    /** One operand's view: {@code rows × cols} with element strides, and its batch stride. */
    record Operand(long rows, long cols, long rowStride, long colStride, long batchStride) {}

    /**
     * The call for {@code batch} products; null when an operand's layout has no cuBLAS form, or a size or leading
     * dimension exceeds cuBLAS's 32-bit arguments.
     */
    static GemmMapping of(int batch, Operand a, Operand b, Operand c) {
        if (a.rows != c.rows || b.cols != c.cols || a.cols != b.rows)
            throw new IllegalArgumentException("gemm shapes do not chain: " + a + " · " + b + " -> " + c);
        long[] la = layout(a), lb = layout(b), lc = layout(c);
        if (la == null || lb == null || lc == null || lc[0] != OP_N) return null;
        if (!fitsInt(c.cols) || !fitsInt(c.rows) || !fitsInt(a.cols) || !fitsInt(la[1]) || !fitsInt(lb[1]) || !fitsInt(lc[1]))
            return null;
        return new GemmMapping((int) lb[0], (int) la[0], (int) c.cols, (int) c.rows, (int) a.cols,
                (int) lb[1], b.batchStride, (int) la[1], a.batchStride, (int) lc[1], c.batchStride, batch);
    }

    /**
     * {op, ld} that presents {@code x}ᵀ to column-major cuBLAS: N with ld = row stride when columns are unit-stride
     * (or there is one column), T with ld = column stride when rows are; null otherwise. cuBLAS wants
     * {@code ld >= max(1, rows of what it stores)}, which a degenerate dimension's arbitrary stride need not meet, so
     * the minimum is used there.
     */
    private static long[] layout(Operand x) {
        if (x.colStride == 1 || x.cols == 1) {
            long ld = x.rows == 1 ? Math.max(1, x.cols) : x.rowStride;
            if (ld >= Math.max(1, x.cols)) return new long[] {OP_N, ld};
        }
        if (x.rowStride == 1 || x.rows == 1) {
            long ld = x.cols == 1 ? Math.max(1, x.rows) : x.colStride;
            if (ld >= Math.max(1, x.rows)) return new long[] {OP_T, ld};
        }
        return null;
    }

    private static boolean fitsInt(long v) { return v <= Integer.MAX_VALUE; }
}
