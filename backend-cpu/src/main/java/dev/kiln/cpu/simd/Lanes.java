package dev.kiln.cpu.simd;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.Vector;
import jdk.incubator.vector.VectorOperators;
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
 */
public final class Lanes {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_PREFERRED;
    private static final VectorShuffle<Float>[] FLOAT_BUTTERFLY = butterfly(FS);
    private static final VectorShuffle<Double>[] DOUBLE_BUTTERFLY = butterfly(DS);

    private Lanes() {}

    /** The sum of the lanes of {@code v} (of the preferred species), in the same order in every execution mode. */
    public static float sum(FloatVector v) { return ((FloatVector) fold(v, FLOAT_BUTTERFLY, VectorOperators.ADD)).lane(0); }

    public static double sum(DoubleVector v) { return ((DoubleVector) fold(v, DOUBLE_BUTTERFLY, VectorOperators.ADD)).lane(0); }

    /** The product of the lanes of {@code v}, in a fixed order. */
    public static float product(FloatVector v) { return ((FloatVector) fold(v, FLOAT_BUTTERFLY, VectorOperators.MUL)).lane(0); }

    public static double product(DoubleVector v) { return ((DoubleVector) fold(v, DOUBLE_BUTTERFLY, VectorOperators.MUL)).lane(0); }

    /** Combines every lane with its butterfly partner at each step; afterwards every lane holds the whole fold. */
    private static <E> Vector<E> fold(Vector<E> v, VectorShuffle<E>[] steps, VectorOperators.Binary op) {
        for (VectorShuffle<E> s : steps) v = v.lanewise(op, v.rearrange(s));
        return v;
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
