package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.MatmulPrecision;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The cuBLAS binding against a fake cuBLAS made of upcall stubs whose GEMM is cuBLAS's column-major strided batched
 * definition computed on host memory: a row-major product sent through {@link Cublas#gemm} must come back right,
 * which checks the argument order of the 23-argument call, the operand swap and the alpha/beta pointers.
 */
class CublasBindingTest {
    private static final Arena STATIC = Arena.ofShared();
    private static final MemorySegment HANDLE = STATIC.allocate(8);
    private static long streamSeen;
    private static int computeSeen, typeSeen;

    static int cublasGetProperty(int property, MemorySegment value) {
        value.reinterpret(4).set(JAVA_INT, 0, new int[] {13, 1, 2}[property]);
        return 0;
    }

    static int cublasCreate(MemorySegment out) {
        out.reinterpret(8).set(ADDRESS, 0, HANDLE);
        return 0;
    }

    static int cublasSetStream(MemorySegment handle, MemorySegment stream) {
        streamSeen = stream.address();
        return handle.equals(HANDLE) ? 0 : 7;
    }

    static int cublasDestroy(MemorySegment handle) { return handle.equals(HANDLE) ? 0 : 7; }

    /** C[p] = alpha op(A[p]) op(B[p]) + beta C[p], column-major, float32 storage. */
    static int cublasGemmStridedBatchedEx(MemorySegment handle, int transa, int transb, int m, int n, int k,
                                          MemorySegment alpha, MemorySegment a, int aType, int lda, long strideA,
                                          MemorySegment b, int bType, int ldb, long strideB,
                                          MemorySegment beta, MemorySegment c, int cType, int ldc, long strideC,
                                          int batch, int compute, int algo) {
        if (!handle.equals(HANDLE) || aType != bType || bType != cType || aType != Cublas.CUDA_R_32F) return 7;
        computeSeen = compute;
        typeSeen = aType;
        float al = alpha.reinterpret(4).get(JAVA_FLOAT, 0), be = beta.reinterpret(4).get(JAVA_FLOAT, 0);
        MemorySegment sa = a.reinterpret(1 << 20), sb = b.reinterpret(1 << 20), sc = c.reinterpret(1 << 20);
        for (int p = 0; p < batch; p++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    float sum = 0;
                    for (int l = 0; l < k; l++) {
                        long ai = transa == 0 ? i + (long) l * lda : l + (long) i * lda;
                        long bi = transb == 0 ? l + (long) j * ldb : j + (long) l * ldb;
                        sum += sa.getAtIndex(JAVA_FLOAT, p * strideA + ai) * sb.getAtIndex(JAVA_FLOAT, p * strideB + bi);
                    }
                    long ci = p * strideC + i + (long) j * ldc;
                    sc.setAtIndex(JAVA_FLOAT, ci, al * sum + (be == 0 ? 0 : be * sc.getAtIndex(JAVA_FLOAT, ci)));
                }
        return 0;
    }

    private static Cublas fakeCublas() {
        FakeLibrary lib = new FakeLibrary()
                .export("cublasGetProperty", CublasBindingTest.class, "cublasGetProperty", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS))
                .export("cublasCreate_v2", CublasBindingTest.class, "cublasCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS))
                .export("cublasDestroy_v2", CublasBindingTest.class, "cublasDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS))
                .export("cublasSetStream_v2", CublasBindingTest.class, "cublasSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS))
                .export("cublasGemmStridedBatchedEx", CublasBindingTest.class, "cublasGemmStridedBatchedEx", FunctionDescriptor.of(JAVA_INT,
                        ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                        ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,
                        ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,
                        ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,
                        JAVA_INT, JAVA_INT, JAVA_INT));
        return new Cublas(lib.library("libcublas.so.13"));
    }

    @Test
    void versionHandleAndStream() {
        Cublas cublas = fakeCublas();
        assertEquals("13.1.2", cublas.version);
        MemorySegment handle = cublas.createHandle(0x5000);
        assertEquals(HANDLE, handle);
        assertEquals(0x5000, streamSeen);
        cublas.destroyHandle(handle);
    }

    @Test
    void aRowMajorBatchWithATransposedViewAndABroadcastComesBackRight() {
        Cublas cublas = fakeCublas();
        int batch = 2, m = 3, k = 4, n = 5;
        try (Arena arena = Arena.ofConfined()) {
            // A: batch x m x k stored as a transposed view (each item k x m row-major); B: one k x n shared by the batch.
            MemorySegment a = arena.allocate(JAVA_FLOAT, (long) batch * m * k), b = arena.allocate(JAVA_FLOAT, (long) k * n);
            MemorySegment c = arena.allocate(JAVA_FLOAT, (long) batch * m * n);
            for (int i = 0; i < batch * m * k; i++) a.setAtIndex(JAVA_FLOAT, i, i % 7 - 3);
            for (int i = 0; i < k * n; i++) b.setAtIndex(JAVA_FLOAT, i, i % 5 - 2);
            GemmMapping g = GemmMapping.of(batch, new GemmMapping.Operand(m, k, 1, m, (long) m * k),
                    new GemmMapping.Operand(k, n, n, 1, 0), new GemmMapping.Operand(m, n, n, 1, (long) m * n));
            cublas.gemm(HANDLE, g, DType.FLOAT32, MatmulPrecision.HIGH, a.address(), b.address(), c.address());

            assertEquals(Cublas.COMPUTE_32F_FAST_TF32, computeSeen);
            assertEquals(Cublas.CUDA_R_32F, typeSeen);
            for (int p = 0; p < batch; p++)
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        float want = 0;
                        for (int l = 0; l < k; l++)
                            want += a.getAtIndex(JAVA_FLOAT, (long) p * m * k + (long) l * m + i) * b.getAtIndex(JAVA_FLOAT, (long) l * n + j);
                        assertEquals(want, c.getAtIndex(JAVA_FLOAT, (long) p * m * n + (long) i * n + j), "batch " + p + " C[" + i + "," + j + "]");
                    }
        }
    }
}
