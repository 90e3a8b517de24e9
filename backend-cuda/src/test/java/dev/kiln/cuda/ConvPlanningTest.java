package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.MatmulPrecision;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The cuDNN decisions made without a GPU: data and math types, descriptors from Kiln's strides, the algorithm choice. */
class ConvPlanningTest {

    @Test
    void dataComputeAndMathTypes() {
        assertEquals(ConvPlanning.DATA_FLOAT, ConvPlanning.dataType(DType.FLOAT32));
        assertEquals(ConvPlanning.DATA_DOUBLE, ConvPlanning.dataType(DType.FLOAT64));
        assertEquals(ConvPlanning.DATA_HALF, ConvPlanning.dataType(DType.FLOAT16));
        assertEquals(ConvPlanning.DATA_BFLOAT16, ConvPlanning.dataType(DType.BFLOAT16));
        assertEquals(-1, ConvPlanning.dataType(DType.INT64));
        // Half types accumulate in float32, float64 in float64.
        assertEquals(ConvPlanning.DATA_FLOAT, ConvPlanning.computeType(DType.BFLOAT16));
        assertEquals(ConvPlanning.DATA_FLOAT, ConvPlanning.computeType(DType.FLOAT16));
        assertEquals(ConvPlanning.DATA_DOUBLE, ConvPlanning.computeType(DType.FLOAT64));
        // Exact float32 by default; TF32 only when the float32 precision setting allows it; tensor cores for halves.
        assertEquals(ConvPlanning.FMA_MATH, ConvPlanning.mathType(DType.FLOAT32, MatmulPrecision.HIGHEST));
        assertEquals(ConvPlanning.DEFAULT_MATH, ConvPlanning.mathType(DType.FLOAT32, MatmulPrecision.HIGH));
        assertEquals(ConvPlanning.DEFAULT_MATH, ConvPlanning.mathType(DType.FLOAT32, MatmulPrecision.MEDIUM));
        assertEquals(ConvPlanning.TENSOR_OP_MATH, ConvPlanning.mathType(DType.FLOAT16, MatmulPrecision.HIGHEST));
        assertEquals(ConvPlanning.TENSOR_OP_MATH, ConvPlanning.mathType(DType.BFLOAT16, MatmulPrecision.HIGHEST));
        assertEquals(ConvPlanning.DEFAULT_MATH, ConvPlanning.mathType(DType.FLOAT64, MatmulPrecision.HIGHEST));
    }

    @Test
    void tensorDescriptorsFollowKilnsStrides() {
        ConvPlanning.Tensor4 dense = ConvPlanning.tensor(new int[] {2, 3, 4, 5}, new long[] {60, 20, 5, 1});
        assertArrayEquals(new int[] {2, 3, 4, 5}, dense.dims());
        assertArrayEquals(new int[] {60, 20, 5, 1}, dense.strides());
        // A channel slice of a larger tensor and an NHWC-strided view are described as they are, not copied.
        assertArrayEquals(new int[] {120, 20, 5, 1}, ConvPlanning.tensor(new int[] {2, 3, 4, 5}, new long[] {120, 20, 5, 1}).strides());
        assertArrayEquals(new int[] {60, 1, 15, 3}, ConvPlanning.tensor(new int[] {2, 3, 4, 5}, new long[] {60, 1, 15, 3}).strides());
        // A size-1 dimension's stride is arbitrary in Kiln (0 when broadcast); cuDNN gets the dense one.
        assertArrayEquals(new int[] {60, 20, 5, 1}, ConvPlanning.tensor(new int[] {1, 3, 4, 5}, new long[] {0, 20, 5, 1}).strides());
        // Repeated elements, negative strides and sizes beyond 32 bits have no legacy descriptor.
        assertNull(ConvPlanning.tensor(new int[] {2, 3, 4, 5}, new long[] {0, 20, 5, 1}));
        assertNull(ConvPlanning.tensor(new int[] {2, 3, 4, 5}, new long[] {60, 20, -5, 1}));
        assertNull(ConvPlanning.tensor(new int[] {2, 3, 4, 5}, new long[] {1L << 32, 20, 5, 1}));
        assertNull(ConvPlanning.tensor(new int[] {65536, 256, 256, 1}, new long[] {65536L * 256, 256, 1, 1}));
        assertNull(ConvPlanning.tensor(new int[] {3, 4, 5}, new long[] {20, 5, 1}));
    }

    @Test
    void filtersMustBeDenseNchw() {
        assertArrayEquals(new int[] {8, 3, 3, 3}, ConvPlanning.filter(new int[] {8, 3, 3, 3}, new long[] {27, 9, 3, 1}));
        assertArrayEquals(new int[] {8, 1, 3, 3}, ConvPlanning.filter(new int[] {8, 1, 3, 3}, new long[] {9, 0, 3, 1}));
        assertNull(ConvPlanning.filter(new int[] {8, 3, 3, 3}, new long[] {1, 72, 24, 8}), "a transposed weight");
        assertNull(ConvPlanning.filter(new int[] {8, 3, 3, 3}, new long[] {54, 9, 3, 1}), "every other filter of a larger weight");
    }

    private static ConvPlanning.AlgoPerf perf(int algo, int status, long memory, int determinism, int math) {
        return new ConvPlanning.AlgoPerf(algo, status, memory, determinism, math);
    }

    @Test
    void theAlgorithmIsCudnnsBestThatQualifies() {
        List<ConvPlanning.AlgoPerf> ranked = List.of(
                perf(6, 3000, 0, 1, ConvPlanning.DEFAULT_MATH),             // not supported for this geometry
                perf(4, 0, 2L << 30, 1, ConvPlanning.DEFAULT_MATH),         // needs 2 GiB of workspace
                perf(0, 0, 4096, 0, ConvPlanning.TENSOR_OP_MATH),           // tensor cores, not deterministic
                perf(1, 0, 8192, 1, ConvPlanning.TENSOR_OP_MATH_ALLOW_CONVERSION),
                perf(2, 0, 1 << 20, 1, ConvPlanning.FMA_MATH));
        long limit = 1L << 30;
        assertEquals(0, ConvPlanning.choose(ranked, limit, false, ConvPlanning.TENSOR_OP_MATH).algo());
        assertEquals(4, ConvPlanning.choose(ranked, 4L << 30, false, ConvPlanning.DEFAULT_MATH).algo(), "a larger limit admits it");
        assertEquals(1, ConvPlanning.choose(ranked, limit, true, ConvPlanning.TENSOR_OP_MATH).algo(), "deterministic mode");
        assertEquals(2, ConvPlanning.choose(ranked, limit, true, ConvPlanning.FMA_MATH).algo(), "exact float32 skips tensor-core math");
        assertNull(ConvPlanning.choose(ranked.subList(0, 3), limit, true, ConvPlanning.FMA_MATH), "none qualifies: Kiln's kernels run");
        assertNull(ConvPlanning.choose(List.of(), limit, false, ConvPlanning.DEFAULT_MATH));
    }
}
