package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.MatmulPrecision;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * The row-major to column-major mapping, checked by running the mapped call through a reference column-major
 * strided batched GEMM (cuBLAS's definition) on the host and comparing with the row-major product.
 */
class GemmMappingTest {
    private static GemmMapping.Operand rowMajor(long rows, long cols, long batchStride) {
        return new GemmMapping.Operand(rows, cols, cols, 1, batchStride);
    }

    private static GemmMapping.Operand transposedView(long rows, long cols, long batchStride) {
        return new GemmMapping.Operand(rows, cols, 1, rows, batchStride);
    }

    @Test
    void contiguousBatchUsesTheSwapTrick() {
        GemmMapping g = GemmMapping.of(4, rowMajor(3, 5, 15), rowMajor(5, 7, 35), rowMajor(3, 7, 21));
        assertEquals(new GemmMapping(GemmMapping.OP_N, GemmMapping.OP_N, 7, 3, 5, 7, 35, 5, 15, 7, 21, 4), g);
    }

    @Test
    void everyLayoutCombinationComputesTheRowMajorProduct() {
        long m = 3, k = 4, n = 5;
        int batch = 2;
        for (boolean aT : new boolean[] {false, true})
            for (boolean bT : new boolean[] {false, true})
                for (boolean broadcastB : new boolean[] {false, true}) {
                    GemmMapping.Operand a = aT ? transposedView(m, k, m * k) : rowMajor(m, k, m * k);
                    GemmMapping.Operand b = bT ? transposedView(k, n, broadcastB ? 0 : k * n) : rowMajor(k, n, broadcastB ? 0 : k * n);
                    GemmMapping.Operand c = rowMajor(m, n, m * n);
                    checkAgainstReference(batch, a, b, c);
                }
    }

    @Test
    void paddedRowsUseTheRowStrideAsLeadingDimension() {
        // A is the left 3x4 block of a 3x10 row-major matrix, C a 3x5 block of a 3x8 one.
        checkAgainstReference(1, new GemmMapping.Operand(3, 4, 10, 1, 0), rowMajor(4, 5, 0), new GemmMapping.Operand(3, 5, 8, 1, 0));
    }

    @Test
    void vectorsNeedNoStrideOnTheirUnitDimension() {
        // A row vector A (1 x k) whose row stride is meaningless, and a column-vector result.
        checkAgainstReference(1, new GemmMapping.Operand(1, 4, 0, 1, 0), rowMajor(4, 1, 0), new GemmMapping.Operand(1, 1, 99, 7, 0));
        checkAgainstReference(3, new GemmMapping.Operand(2, 4, 4, 1, 8), new GemmMapping.Operand(4, 1, 3, 42, 12), new GemmMapping.Operand(2, 1, 1, 5, 2));
    }

    @Test
    void layoutsWithoutAUnitStrideHaveNoCublasForm() {
        assertNull(GemmMapping.of(1, new GemmMapping.Operand(3, 4, 8, 2, 0), rowMajor(4, 5, 0), rowMajor(3, 5, 0)));
        // A transposed output cannot be written: cuBLAS has no operation on C.
        assertNull(GemmMapping.of(1, rowMajor(3, 4, 0), rowMajor(4, 5, 0), transposedView(3, 5, 0)));
    }

    @Test
    void computeTypesFollowTheMatmulPrecision() {
        assertEquals(Cublas.COMPUTE_32F, Cublas.computeType(DType.FLOAT32, MatmulPrecision.HIGHEST));
        assertEquals(Cublas.COMPUTE_32F_FAST_TF32, Cublas.computeType(DType.FLOAT32, MatmulPrecision.HIGH));
        assertEquals(Cublas.COMPUTE_32F_FAST_16BF, Cublas.computeType(DType.FLOAT32, MatmulPrecision.MEDIUM));
        assertEquals(Cublas.COMPUTE_32F, Cublas.computeType(DType.BFLOAT16, MatmulPrecision.HIGH));
        assertEquals(Cublas.COMPUTE_64F, Cublas.computeType(DType.FLOAT64, MatmulPrecision.MEDIUM));
        assertEquals(Cublas.CUDA_R_16BF, Cublas.dataType(DType.BFLOAT16));
        assertEquals(-1, Cublas.dataType(DType.INT64));
    }

    /** Fills the operands' storage, runs the mapped call column-major as cuBLAS defines it, compares with C = A·B. */
    private static void checkAgainstReference(int batch, GemmMapping.Operand a, GemmMapping.Operand b, GemmMapping.Operand c) {
        GemmMapping g = GemmMapping.of(batch, a, b, c);
        Random rnd = new Random(7);
        double[] sa = new double[(int) extent(batch, a)], sb = new double[(int) extent(batch, b)];
        for (int i = 0; i < sa.length; i++) sa[i] = rnd.nextInt(9) - 4;
        for (int i = 0; i < sb.length; i++) sb[i] = rnd.nextInt(9) - 4;
        double[] sc = new double[(int) extent(batch, c)];
        // cuBLAS: C'[p] (m' x n', ld ldc) = op(A'[p]) op(B'[p]), column-major, A' = Kiln's B, B' = Kiln's A.
        for (int p = 0; p < batch; p++)
            for (int i = 0; i < g.m(); i++)
                for (int j = 0; j < g.n(); j++) {
                    double sum = 0;
                    for (int l = 0; l < g.k(); l++)
                        sum += colMajor(sb, p * g.strideA(), g.transa(), g.lda(), i, l) * colMajor(sa, p * g.strideB(), g.transb(), g.ldb(), l, j);
                    sc[(int) (p * g.strideC() + i + (long) j * g.ldc())] = sum;
                }
        for (int p = 0; p < batch; p++)
            for (int i = 0; i < c.rows(); i++)
                for (int j = 0; j < c.cols(); j++) {
                    double want = 0;
                    for (int l = 0; l < a.cols(); l++)
                        want += sa[(int) (p * a.batchStride() + i * a.rowStride() + l * a.colStride())]
                                * sb[(int) (p * b.batchStride() + l * b.rowStride() + j * b.colStride())];
                    double got = sc[(int) (p * c.batchStride() + i * c.rowStride() + j * c.colStride())];
                    assertEquals(want, got, "batch " + p + " C[" + i + "," + j + "] for " + a + " · " + b);
                }
    }

    /** Element (i, j) of op(X) for column-major X with leading dimension ld. */
    private static double colMajor(double[] s, long base, int op, int ld, int i, int j) {
        return op == GemmMapping.OP_N ? s[(int) (base + i + (long) j * ld)] : s[(int) (base + j + (long) i * ld)];
    }

    private static long extent(int batch, GemmMapping.Operand x) {
        return (batch - 1) * x.batchStride() + (x.rows() - 1) * x.rowStride() + (x.cols() - 1) * x.colStride() + 1;
    }
}
