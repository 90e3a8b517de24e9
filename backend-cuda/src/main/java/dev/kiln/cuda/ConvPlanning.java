package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.MatmulPrecision;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.kernel.KernelRuntime.ConvDirection;

import java.util.Arrays;
import java.util.List;

/**
 * The decisions of a cuDNN convolution that need no GPU: the descriptors' arguments for Kiln's operands (or that
 * cuDNN's legacy API cannot take them), the math type per dtype and precision setting, and which of the
 * algorithms cuDNN's heuristics rank is used.
 */
final class ConvPlanning {
    private ConvPlanning() {}

    // cudnnDataType_t, cudnnMathType_t and cudnnDeterminism_t (cudnn_graph.h / cudnn_ops.h, cuDNN 9).
    static final int DATA_FLOAT = 0, DATA_DOUBLE = 1, DATA_HALF = 2, DATA_BFLOAT16 = 9;
    static final int DEFAULT_MATH = 0, TENSOR_OP_MATH = 1, TENSOR_OP_MATH_ALLOW_CONVERSION = 2, FMA_MATH = 3;
    static final int DETERMINISTIC = 1;

    /** cudnnDataType_t of a dtype cuDNN convolves; -1 for the others. */
    static int dataType(DType t) {
        return switch (t) {
            case FLOAT32 -> DATA_FLOAT;
            case FLOAT64 -> DATA_DOUBLE;
            case FLOAT16 -> DATA_HALF;
            case BFLOAT16 -> DATA_BFLOAT16;
            default -> -1;
        };
    }

    /** The accumulation type: float64 for float64, float32 for the rest (half types accumulate in float32). */
    static int computeType(DType t) { return t == DType.FLOAT64 ? DATA_DOUBLE : DATA_FLOAT; }

    /**
     * The math type: tensor cores for half types; for float32 exact FMA math unless the float32 matmul precision
     * allows TF32 ({@code "high"} or {@code "medium"}: cuDNN's default math, which uses TF32 on Ampere and newer),
     * the one switch for matmul and convolution, where PyTorch has two ({@code allow_tf32} for cuDNN defaults on).
     */
    static int mathType(DType t, MatmulPrecision precision) {
        if (!t.isComputeType()) return TENSOR_OP_MATH;
        if (t == DType.FLOAT32 && precision == MatmulPrecision.HIGHEST) return FMA_MATH;
        return DEFAULT_MATH;
    }

    /**
     * A 4-D operand as {@code cudnnSetTensor4dDescriptorEx} takes it.
     *
     * @param dims n, c, h, w
     * @param strides the element strides of those dimensions
     */
    record Tensor4(int[] dims, int[] strides) {
        @Override
        public boolean equals(Object o) { return o instanceof Tensor4 t && Arrays.equals(dims, t.dims) && Arrays.equals(strides, t.strides); }

        @Override
        public int hashCode() { return 31 * Arrays.hashCode(dims) + Arrays.hashCode(strides); }

        @Override
        public String toString() { return Arrays.toString(dims) + " strides " + Arrays.toString(strides); }
    }

    /**
     * A tensor operand's descriptor arguments; null when cuDNN's 32-bit legacy API cannot describe it (more than
     * 2^31 elements or a stride beyond int) or it repeats elements (a stride of 0 or below on a dimension longer
     * than 1). A dimension of size 1 gets the stride it would have if dense, since its own is arbitrary.
     */
    static Tensor4 tensor(int[] shape, long[] strides) {
        if (shape.length != 4 || numel(shape) > Integer.MAX_VALUE) return null;
        int[] s = new int[4];
        long dense = 1;
        for (int d = 3; d >= 0; d--) {
            long stride = shape[d] == 1 ? dense : strides[d];
            if (stride < 1 || stride > Integer.MAX_VALUE) return null;
            s[d] = (int) stride;
            dense *= shape[d];
        }
        return new Tensor4(shape.clone(), s);
    }

    /** A weight's filter descriptor dimensions (k, c, h, w); null unless it is dense NCHW, the only layout filters have. */
    static int[] filter(int[] shape, long[] strides) {
        Tensor4 t = tensor(shape, strides);
        if (t == null) return null;
        long dense = 1;
        for (int d = 3; d >= 0; d--) {
            if (t.strides[d] != dense) return null;
            dense *= shape[d];
        }
        return shape.clone();
    }

    private static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /**
     * One algorithm as cuDNN's heuristics rank it ({@code cudnnConvolution*AlgoPerf_t}).
     *
     * @param algo the algorithm's number in its direction's enum
     * @param status cuDNN's status for it (0: usable)
     * @param memory the workspace it needs, in bytes
     * @param determinism 1 when it gives the same bits every run
     * @param mathType the math it uses
     */
    record AlgoPerf(int algo, int status, long memory, int determinism, int mathType) {}

    /**
     * The first algorithm in cuDNN's order that ran its check ({@code status} 0), fits the workspace limit, is
     * deterministic when Kiln requires deterministic algorithms, and, for exact float32 ({@link #FMA_MATH}), does
     * not use tensor-core math; null when none does, and Kiln's own kernels run the convolution.
     */
    static AlgoPerf choose(List<AlgoPerf> ranked, long workspaceLimit, boolean deterministic, int mathType) {
        for (AlgoPerf p : ranked) {
            if (p.status != 0 || p.memory > workspaceLimit || (deterministic && p.determinism != DETERMINISTIC)) continue;
            if (mathType == FMA_MATH && (p.mathType == TENSOR_OP_MATH || p.mathType == TENSOR_OP_MATH_ALLOW_CONVERSION)) continue;
            return p;
        }
        return null;
    }

    /**
     * What a plan is cached under: everything the descriptors and the algorithm choice depend on.
     *
     * @param direction forward or a gradient
     * @param dtype the operands' element type
     * @param x the input (or its gradient)
     * @param w the weight's dimensions (dense NCHW)
     * @param y the output (or its gradient)
     * @param spec the geometry
     * @param mathType the math type asked for
     * @param deterministic whether only deterministic algorithms may run
     */
    record Key(ConvDirection direction, DType dtype, Tensor4 x, List<Integer> w, Tensor4 y, Conv2dSpec spec, int mathType, boolean deterministic) {}
}
