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
    // The butterfly's steps, one constant shuffle each (null where the vector is too short for that step): written
    // out as straight-line code over constants, so C2 keeps the vectors in registers. As a loop over an array of
    // shuffles it did not: every step boxed its vector (layer norm allocated 738 KB per call on [12, 64, 128]).
    private static final VectorShuffle<Float> F8 = step(FS, 8), F4 = step(FS, 4), F2 = step(FS, 2), F1 = step(FS, 1);
    private static final VectorShuffle<Double> D4 = step(DS, 4), D2 = step(DS, 2), D1 = step(DS, 1);

    private Lanes() {}

    /** The sum of the lanes of {@code v} (of the preferred species), in the same order in every execution mode. */
    public static float sum(FloatVector v) {
        if (F8 != null) v = v.add(v.rearrange(F8));
        if (F4 != null) v = v.add(v.rearrange(F4));
        if (F2 != null) v = v.add(v.rearrange(F2));
        return v.add(v.rearrange(F1)).lane(0);
    }

    public static double sum(DoubleVector v) {
        if (D4 != null) v = v.add(v.rearrange(D4));
        if (D2 != null) v = v.add(v.rearrange(D2));
        return v.add(v.rearrange(D1)).lane(0);
    }

    /** The product of the lanes of {@code v}, in a fixed order. */
    public static float product(FloatVector v) {
        if (F8 != null) v = v.mul(v.rearrange(F8));
        if (F4 != null) v = v.mul(v.rearrange(F4));
        if (F2 != null) v = v.mul(v.rearrange(F2));
        return v.mul(v.rearrange(F1)).lane(0);
    }

    public static double product(DoubleVector v) {
        if (D4 != null) v = v.mul(v.rearrange(D4));
        if (D2 != null) v = v.mul(v.rearrange(D2));
        return v.mul(v.rearrange(D1)).lane(0);
    }

    /** Lane i to lane i XOR half, or null when the species has no more than half lanes. */
    private static <E> VectorShuffle<E> step(VectorSpecies<E> species, int half) {
        return species.length() > half ? VectorShuffle.fromOp(species, i -> i ^ half) : null;
    }
}
