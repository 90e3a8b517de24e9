package dev.kiln.onnx;

import dev.kiln.Tensor;

import java.util.Arrays;
import java.util.Map;

/**
 * The model tests' check against ONNX Runtime: same shape and type, and per element
 * |kiln - reference| <= ATOL + RTOL * |reference| (float32 tolerances of the issue: rtol 1e-4, atol 1e-5).
 */
final class ModelComparison {
    static final double RTOL = 1e-4, ATOL = 1e-5;

    private ModelComparison() {}

    /**
     * Compares every reference output with Kiln's and returns the largest absolute difference seen.
     *
     * @throws AssertionError naming the output, the worst element and both values
     */
    static double assertClose(String what, Map<String, Tensor> kiln, Map<String, ReferenceRuntime.Host> reference) {
        double largest = 0;
        for (var e : reference.entrySet()) {
            Tensor actual = kiln.get(e.getKey());
            if (actual == null) throw new AssertionError(what + ": Kiln produced no output '" + e.getKey() + "'");
            ReferenceRuntime.Host expected = e.getValue();
            if (!Arrays.equals(Arrays.stream(actual.shape()).asLongStream().toArray(), expected.shape()))
                throw new AssertionError(what + ": output '" + e.getKey() + "' has shape " + Arrays.toString(actual.shape())
                        + ", ONNX Runtime's " + Arrays.toString(expected.shape()));
            if (actual.dtype() != ReferenceRuntime.dtype(expected))
                throw new AssertionError(what + ": output '" + e.getKey() + "' is " + actual.dtype() + ", ONNX Runtime's " + ReferenceRuntime.dtype(expected));
            double[] got = actual.toDoubleArray(), want = expected.doubles();
            int worst = -1;
            double worstExcess = 0;
            for (int i = 0; i < want.length; i++) {
                double diff = Math.abs(got[i] - want[i]);
                if (Double.isNaN(diff) && !(Double.isNaN(got[i]) && Double.isNaN(want[i]))) diff = Double.POSITIVE_INFINITY;
                if (Double.isNaN(diff)) continue;
                largest = Math.max(largest, diff);
                double excess = diff - (ATOL + RTOL * Math.abs(want[i]));
                if (excess > worstExcess) {
                    worstExcess = excess;
                    worst = i;
                }
            }
            if (worst >= 0)
                throw new AssertionError(what + ": output '" + e.getKey() + "' differs from ONNX Runtime beyond rtol " + RTOL + ", atol " + ATOL
                        + " at flat index " + worst + ": Kiln " + got[worst] + ", ONNX Runtime " + want[worst]);
        }
        return largest;
    }
}
