package dev.kiln.cpu.simd;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@link Lanes} folds a vector in one fixed order (lane i with lane i XOR half, halves from L/2 down to 1), bit for bit
 * the same before and after the JIT compiles it: checked against that order written out in scalar arithmetic, on
 * values whose sum depends on the order, for enough calls that C2 compiles the folds.
 */
class LanesTest {
    private static final int CALLS = 200_000;

    @Test
    void floatSumsAndProductsFollowTheButterfly() {
        int n = FloatVector.SPECIES_PREFERRED.length();
        SplittableRandom random = new SplittableRandom(7);
        float[][] inputs = new float[16][n];
        for (float[] lanes : inputs)
            for (int i = 0; i < n; i++) lanes[i] = (float) ((random.nextBoolean() ? 1e7 : 1) * (random.nextDouble() - 0.5));
        for (int call = 0; call < CALLS; call++) {
            float[] lanes = inputs[call % inputs.length];
            FloatVector v = FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, lanes, 0);
            assertEquals(Float.floatToRawIntBits(butterfly(lanes, false)), Float.floatToRawIntBits(Lanes.sum(v)), "sum, call " + call);
            assertEquals(Float.floatToRawIntBits(butterfly(lanes, true)), Float.floatToRawIntBits(Lanes.product(v)), "product, call " + call);
        }
    }

    @Test
    void doubleSumsFollowTheButterfly() {
        int n = DoubleVector.SPECIES_PREFERRED.length();
        SplittableRandom random = new SplittableRandom(8);
        double[] lanes = new double[n];
        for (int call = 0; call < CALLS; call++) {
            for (int i = 0; i < n; i++) lanes[i] = (random.nextBoolean() ? 1e16 : 1) * (random.nextDouble() - 0.5);
            double expected = butterfly(lanes);
            assertEquals(Double.doubleToRawLongBits(expected),
                    Double.doubleToRawLongBits(Lanes.sum(DoubleVector.fromArray(DoubleVector.SPECIES_PREFERRED, lanes, 0))), "sum, call " + call);
        }
    }

    private static float butterfly(float[] lanes, boolean multiply) {
        float[] v = lanes.clone();
        for (int half = v.length / 2; half >= 1; half /= 2) {
            float[] next = new float[v.length];
            for (int i = 0; i < v.length; i++) next[i] = multiply ? v[i] * v[i ^ half] : v[i] + v[i ^ half];
            v = next;
        }
        return v[0];
    }

    private static double butterfly(double[] lanes) {
        double[] v = lanes.clone();
        for (int half = v.length / 2; half >= 1; half /= 2) {
            double[] next = new double[v.length];
            for (int i = 0; i < v.length; i++) next[i] = v[i] + v[i ^ half];
            v = next;
        }
        return v[0];
    }
}
