package dev.kiln.onnx;

import dev.kiln.Tensor;

import java.util.Arrays;

/**
 * ONNX's default check, numpy.testing.assert_allclose(actual, expected, rtol=1e-3, atol=1e-7): equal shapes, and
 * per element |actual - expected| <= atol + rtol * |expected|, with NaN equal to NaN and infinities equal only to
 * themselves.
 */
final class OnnxComparison {
    static final double RTOL = 1e-3, ATOL = 1e-7;

    private OnnxComparison() {}

    /** Null when {@code actual} matches {@code expected}, else a message naming the output and the worst element. */
    static String mismatch(String output, Tensor actual, OnnxTensorFile expected) {
        if (actual == null) return "output '" + output + "' was not produced";
        if (!Arrays.equals(actual.shape(), expected.shape()))
            return "output '" + output + "': shape " + Arrays.toString(actual.shape()) + ", expected " + Arrays.toString(expected.shape());
        if (actual.dtype() != expected.dtype())
            return "output '" + output + "': dtype " + actual.dtype() + ", expected " + expected.dtype();
        double[] got = actual.toDoubleArray(), want = expected.toDoubles();
        int bad = 0, worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < want.length; i++) {
            double excess = excess(got[i], want[i]);
            if (excess > 0) {
                bad++;
                if (excess > worstExcess) {
                    worstExcess = excess;
                    worst = i;
                }
            }
        }
        if (bad == 0) return null;
        return "output '" + output + "': " + bad + " of " + want.length + " elements outside rtol " + RTOL + ", atol " + ATOL
                + "; worst at flat index " + worst + ": got " + got[worst] + ", expected " + want[worst];
    }

    /** How far an element lies outside the tolerance (infinite for NaN or infinity mismatches); 0 when it passes. */
    private static double excess(double got, double want) {
        if (Double.isNaN(want) || Double.isNaN(got)) return Double.isNaN(want) && Double.isNaN(got) ? 0 : Double.POSITIVE_INFINITY;
        if (Double.isInfinite(want) || Double.isInfinite(got)) return got == want ? 0 : Double.POSITIVE_INFINITY;
        double d = Math.abs(got - want) - (ATOL + RTOL * Math.abs(want));
        return d > 0 ? d : 0;
    }
}
