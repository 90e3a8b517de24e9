package dev.kiln.cpu.simd;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Sums and products across the lanes of one vector in a fixed order.
 *
 * <p>{@code reduceLanes(ADD)} and {@code reduceLanes(MUL)} leave the order of a floating-point reduction
 * unspecified, and HotSpot uses that freedom: the interpreter and C1 add the lanes one after the other, C2's
 * intrinsic adds them as a tree. The same row therefore summed to different floats before and after a method was
 * compiled, and since compilation happens at a time that varies from run to run, a seeded training run did not
 * repeat bit for bit. Here the order is a butterfly written with lanewise operations (exact in every execution
 * mode): lane i is added to lane i XOR half, for half = L/2, L/4, ..., 1, so lane 0 ends as the same tree of sums
 * whoever runs it. MAX and MIN are exact in any order and keep using {@code reduceLanes}.
 *
 * <p>One method per element type and op, on purpose: a shared generic fold taking the op as a parameter measured
 * twice as slow on a softmax (the op stops being a constant for C2, as in {@link FloatLoops}).
 */
public final class Lanes {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    private static final VectorShuffle<Float>[] FLOAT_BUTTERFLY = butterfly(FS);
    private static final VectorShuffle<Double>[] DOUBLE_BUTTERFLY = butterfly(DS);

    private Lanes() {}

    /** The sum of the lanes of {@code v} (of the preferred species), in the same order in every execution mode. */
    public static float sum(FloatVector v) {
        for (VectorShuffle<Float> s : FLOAT_BUTTERFLY) v = v.add(v.rearrange(s));
        return v.lane(0);
    }

    public static double sum(DoubleVector v) {
        for (VectorShuffle<Double> s : DOUBLE_BUTTERFLY) v = v.add(v.rearrange(s));
        return v.lane(0);
    }

    /** The product of the lanes of {@code v}, in a fixed order. */
    public static float product(FloatVector v) {
        for (VectorShuffle<Float> s : FLOAT_BUTTERFLY) v = v.mul(v.rearrange(s));
        return v.lane(0);
    }

    public static double product(DoubleVector v) {
        for (VectorShuffle<Double> s : DOUBLE_BUTTERFLY) v = v.mul(v.rearrange(s));
        return v.lane(0);
    }

    @SuppressWarnings("unchecked")
    private static <E> VectorShuffle<E>[] butterfly(VectorSpecies<E> species) {
        int lanes = species.length();
        VectorShuffle<E>[] steps = new VectorShuffle[Integer.numberOfTrailingZeros(lanes)];
        int k = 0;
        for (int half = lanes / 2; half >= 1; half /= 2) {
            int h = half;
            steps[k++] = VectorShuffle.fromOp(species, i -> i ^ h);
        }
        return steps;
    }
}
