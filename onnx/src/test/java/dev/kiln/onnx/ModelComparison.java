package dev.kiln.onnx;

import dev.kiln.Tensor;

import java.util.Arrays;
import java.util.Map;

/**
 * The model tests' check against ONNX Runtime: same shape and type, and per element
 * |kiln - reference| <= atol + RTOL * |reference|, with the float32 tolerances of the issue, rtol 1e-4 and atol
 * 1e-5, the atol taken relative to the output's scale when its largest magnitude exceeds 1. Deep networks' logits
 * need that: on PP-OCRv4's recogniser (logits up to 12) ONNX Runtime itself differs from itself by 2.1e-5 between
 * its optimised and unoptimised graphs. Outputs within [-1, 1] (probabilities, recurrent states) get atol 1e-5 as is.
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
            double scale = 1;
            for (double w : want) if (Double.isFinite(w)) scale = Math.max(scale, Math.abs(w));
            double atol = ATOL * scale;
            int worst = -1;
            double worstExcess = 0;
            for (int i = 0; i < want.length; i++) {
                double diff = Math.abs(got[i] - want[i]);
                if (Double.isNaN(diff) && !(Double.isNaN(got[i]) && Double.isNaN(want[i]))) diff = Double.POSITIVE_INFINITY;
                if (Double.isNaN(diff)) continue;
                largest = Math.max(largest, diff);
                double excess = diff - (atol + RTOL * Math.abs(want[i]));
                if (excess > worstExcess) {
                    worstExcess = excess;
                    worst = i;
                }
            }
            if (worst >= 0)
                throw new AssertionError(what + ": output '" + e.getKey() + "' differs from ONNX Runtime beyond rtol " + RTOL + ", atol " + atol
                        + " at flat index " + worst + ": Kiln " + got[worst] + ", ONNX Runtime " + want[worst]);
        }
        return largest;
    }
}
