package dev.kiln.cpu.simd;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FloatMath} against {@code Math} in double, rounded to float: every 61st float of the range each function
 * is defined on (about 140 million inputs in all, subnormals included), within a stated number of ulps, and the
 * special values exactly. A dropped polynomial term, a wrong constant or a lost scaling step costs thousands of ulps.
 */
class FloatMathTest {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    @Test
    void exp() {
        check("exp", FloatMath::exp, Math::exp, -110f, 90f, 2);
    }

    @Test
    void expm1() {
        check("expm1", FloatMath::expm1, Math::expm1, -110f, 90f, 3);
    }

    @Test
    void log() {
        check("log", FloatMath::log, Math::log, 0f, Float.MAX_VALUE, 2);
    }

    @Test
    void log1p() {
        check("log1p", FloatMath::log1p, Math::log1p, -1f, Float.MAX_VALUE, 3);
    }

    @Test
    void tanh() {
        check("tanh", FloatMath::tanh, Math::tanh, -20f, 20f, 3);
    }

    @Test
    void sigmoid() {
        check("sigmoid", FloatMath::sigmoid, x -> 1 / (1 + Math.exp(-x)), -110f, 110f, 3);
    }

    @Test
    void specialValues() {
        float inf = Float.POSITIVE_INFINITY, nan = Float.NaN;
        float[][] cases = { // x, exp, expm1, log, log1p, tanh, sigmoid
                {0f, 1f, 0f, -inf, 0f, 0f, 0.5f},
                {-0f, 1f, -0f, -inf, -0f, -0f, 0.5f},
                {inf, inf, inf, inf, inf, 1f, 1f},
                {-inf, 0f, -1f, nan, nan, -1f, 0f},
                {nan, nan, nan, nan, nan, nan, nan},
                {-1f, (float) Math.exp(-1), (float) Math.expm1(-1), nan, -inf, (float) Math.tanh(-1), (float) (1 / (1 + Math.E))},
                {Float.MIN_VALUE, 1f, Float.MIN_VALUE, (float) Math.log(Float.MIN_VALUE), Float.MIN_VALUE, Float.MIN_VALUE, 0.5f},
        };
        String[] names = {"exp", "expm1", "log", "log1p", "tanh", "sigmoid"};
        for (float[] c : cases) {
            float[] got = {
                    lane0(FloatMath::exp, c[0]), lane0(FloatMath::expm1, c[0]), lane0(FloatMath::log, c[0]),
                    lane0(FloatMath::log1p, c[0]), lane0(FloatMath::tanh, c[0]), lane0(FloatMath::sigmoid, c[0])};
            for (int f = 0; f < names.length; f++)
                assertEquals(Float.floatToIntBits(c[f + 1]), Float.floatToIntBits(got[f]), names[f] + "(" + c[0] + ") = " + got[f]);
        }
    }

    private static float lane0(UnaryOperator<FloatVector> f, float x) {
        return f.apply(FloatVector.broadcast(S, x)).lane(0);
    }

    /** Every 61st float from lo to hi, both signs of the bit walk handled by walking the ordered integer image. */
    private static void check(String name, UnaryOperator<FloatVector> f, DoubleUnaryOperator reference, float lo, float hi, double maxUlps) {
        int n = S.length();
        float[] in = new float[n * 1024], out = new float[in.length];
        long from = ordered(lo), to = ordered(hi), step = 61;
        double worst = 0;
        float worstAt = Float.NaN;
        for (long k = from; k <= to; ) {
            int m = 0;
            for (; m < in.length && k <= to; m++, k += step) in[m] = unordered(k);
            for (int i = 0; i < in.length; i += n) f.apply(FloatVector.fromArray(S, in, i)).intoArray(out, i);
            for (int i = 0; i < m; i++) {
                float want = (float) reference.applyAsDouble(in[i]);
                double ulps = want == out[i] ? 0 : Math.abs((double) out[i] - want) / Math.ulp(want);
                if (!(ulps <= worst)) { worst = ulps; worstAt = in[i]; }
            }
        }
        System.out.printf("%s: worst %.2f ulp at %s%n", name, worst, worstAt);
        assertTrue(worst <= maxUlps, name + ": " + worst + " ulp at " + worstAt + " (" + f.apply(FloatVector.broadcast(S, worstAt)).lane(0) + " against " + reference.applyAsDouble(worstAt) + ")");
    }

    /** Floats mapped to integers in their order: negative floats below positive ones, -0 next to +0. */
    private static long ordered(float x) {
        int b = Float.floatToRawIntBits(x);
        return b >= 0 ? b : (long) Integer.MIN_VALUE - b;
    }

    private static float unordered(long k) {
        return Float.intBitsToFloat(k >= 0 ? (int) k : (int) (Integer.MIN_VALUE - k));
    }
}
