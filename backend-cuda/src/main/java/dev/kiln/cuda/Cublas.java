package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.MatmulPrecision;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuBLAS bound with {@code java.lang.foreign}: version, handles on a stream, and {@code cublasGemmStridedBatchedEx},
 * the one call Kiln's matmul needs. Binding by plain C symbols loads whichever cuBLAS 12 or 13 is found.
 */
final class Cublas {
    static final List<String> SONAMES = List.of("libcublas.so.13", "libcublas.so.12");
    /** cuBLAS links cuBLASLt by soname; opened first from cuBLAS's folder for folders without an RPATH. */
    static final List<String> COMPANIONS = List.of("libcublasLt.so");

    // cudaDataType (library_types.h) and cublasComputeType_t (cublas_api.h).
    static final int CUDA_R_32F = 0, CUDA_R_64F = 1, CUDA_R_16F = 2, CUDA_R_16BF = 14;
    static final int COMPUTE_32F = 68, COMPUTE_32F_FAST_16BF = 75, COMPUTE_32F_FAST_TF32 = 77, COMPUTE_64F = 70;
    private static final int GEMM_DEFAULT = -1;
    private static final int MAJOR_VERSION = 0, MINOR_VERSION = 1, PATCH_LEVEL = 2;

    final NativeLibrary library;
    final String version;
    private final MethodHandle create, destroy, setStream, gemm;

    Cublas(NativeLibrary library) {
        this.library = library;
        MethodHandle getProperty = library.function("cublasGetProperty", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
        create = library.function("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        destroy = library.function("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setStream = library.function("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        gemm = library.function("cublasGemmStridedBatchedEx", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,
                ADDRESS, ADDRESS, JAVA_INT, JAVA_INT, JAVA_LONG,
                JAVA_INT, JAVA_INT, JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            StringBuilder sb = new StringBuilder();
            for (int property : new int[] {MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL}) {
                check((int) getProperty.invokeExact(property, v), "cublasGetProperty");
                sb.append(sb.isEmpty() ? "" : ".").append(v.get(JAVA_INT, 0));
            }
            version = sb.toString();
        } catch (Throwable t) {
            throw Nvrtc.rethrow(t);
        }
    }

    /** A handle whose work goes to {@code stream}; needs the device's context current on this thread. */
    MemorySegment createHandle(long stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check((int) create.invokeExact(out), "cublasCreate");
            MemorySegment handle = out.get(ADDRESS, 0);
            check((int) setStream.invokeExact(handle, MemorySegment.ofAddress(stream)), "cublasSetStream");
            return handle;
        } catch (Throwable t) {
            throw Nvrtc.rethrow(t);
        }
    }

    void destroyHandle(MemorySegment handle) {
        try {
            check((int) destroy.invokeExact(handle), "cublasDestroy");
        } catch (Throwable t) {
            throw Nvrtc.rethrow(t);
        }
    }

    /** cudaDataType of a dtype cuBLAS multiplies; -1 for the others (integers, bool). */
    static int dataType(DType t) {
        return switch (t) {
            case FLOAT32 -> CUDA_R_32F;
            case FLOAT64 -> CUDA_R_64F;
            case FLOAT16 -> CUDA_R_16F;
            case BFLOAT16 -> CUDA_R_16BF;
            default -> -1;
        };
    }

    /**
     * The compute type: float64 in float64; float32 exact, or with TF32 ("high") or bfloat16 ("medium") tensor-core
     * inputs as PyTorch's {@code set_float32_matmul_precision}; half types accumulate in float32.
     */
    static int computeType(DType t, MatmulPrecision precision) {
        return switch (t) {
            case FLOAT64 -> COMPUTE_64F;
            case FLOAT32 -> switch (precision) {
                case HIGHEST -> COMPUTE_32F;
                case HIGH -> COMPUTE_32F_FAST_TF32;
                case MEDIUM -> COMPUTE_32F_FAST_16BF;
            };
            default -> COMPUTE_32F;
        };
    }

    /** Issues {@code C = A · B} (row-major operands mapped by {@code g}) on the handle's stream; never waits. */
    void gemm(MemorySegment handle, GemmMapping g, DType t, MatmulPrecision precision, long a, long b, long c) {
        int type = dataType(t), compute = computeType(t, precision);
        try (Arena arena = Arena.ofConfined()) {
            // Host pointer mode: cuBLAS reads alpha and beta before the call returns.
            MemorySegment alpha = compute == COMPUTE_64F ? arena.allocateFrom(JAVA_DOUBLE, 1.0) : arena.allocateFrom(JAVA_FLOAT, 1f);
            MemorySegment beta = compute == COMPUTE_64F ? arena.allocateFrom(JAVA_DOUBLE, 0.0) : arena.allocateFrom(JAVA_FLOAT, 0f);
            // Kiln's B is cuBLAS's A and Kiln's A its B (GemmMapping).
            check((int) gemm.invokeExact(handle, g.transa(), g.transb(), g.m(), g.n(), g.k(),
                    alpha, MemorySegment.ofAddress(b), type, g.lda(), g.strideA(),
                    MemorySegment.ofAddress(a), type, g.ldb(), g.strideB(),
                    beta, MemorySegment.ofAddress(c), type, g.ldc(), g.strideC(),
                    g.batch(), compute, GEMM_DEFAULT), "cublasGemmStridedBatchedEx");
        } catch (Throwable e) {
            throw Nvrtc.rethrow(e);
        }
    }

    private static void check(int status, String call) {
        if (status != 0) throw new IllegalStateException(call + " failed: " + statusName(status));
    }

    static String statusName(int status) {
        return switch (status) {
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            default -> "cuBLAS status " + status;
        };
    }
}
