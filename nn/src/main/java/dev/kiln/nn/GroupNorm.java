package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;

/** Group normalisation (Wu and He) of (N, C, ...) input: channels in groups, each normalised per sample; per-channel scale and shift. */
public final class GroupNorm extends Module {
    private final int numGroups;
    private final int numChannels;
    private final double eps;

    /**
     * Groups with eps 1e-5 and a learned per-channel scale (ones) and shift (zeros).
     *
     * @param numGroups the groups, dividing numChannels
     * @param numChannels the channels C
     */
    public GroupNorm(int numGroups, int numChannels) { this(numGroups, numChannels, 1e-5, true); }

    /**
     * Groups with the given epsilon, with or without the learned scale and shift.
     *
     * @param numGroups the groups, dividing numChannels
     * @param numChannels the channels C
     * @param eps added to the variance
     * @param affine whether to learn a per-channel scale and shift
     * @throws IllegalArgumentException if numChannels is not a positive multiple of numGroups
     */
    public GroupNorm(int numGroups, int numChannels, double eps, boolean affine) {
        if (numGroups <= 0 || numChannels <= 0 || numChannels % numGroups != 0)
            throw new IllegalArgumentException("GroupNorm: numChannels must be a positive multiple of numGroups, got numGroups=" + numGroups
                    + " numChannels=" + numChannels);
        this.numGroups = numGroups;
        this.numChannels = numChannels;
        this.eps = eps;
        if (affine) {
            registerParameter("weight", Tensor.ones(numChannels));
            registerParameter("bias", Tensor.zeros(numChannels));
        }
    }

    @Override
    public Tensor forward(Tensor input) { return Functional.groupNorm(input, numGroups, optionalParam("weight"), optionalParam("bias"), eps); }

    @Override
    protected String describe() { return "GroupNorm(" + numGroups + ", " + numChannels + ", eps=" + eps + ")"; }
}
