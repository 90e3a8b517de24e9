package dev.kiln.backend;

/**
 * What {@link Backend#attention} does to the scores {@code q @ k^T} of one head: multiplies them by {@code scale},
 * and, when {@code causal}, hides key j from query i unless {@code j <= i + causalOffset} (the offset is the length
 * of a key/value cache in front of the new keys; 0 aligns query 0 with key 0, as PyTorch's {@code is_causal}).
 *
 * @param scale the factor on the scores
 * @param causal whether later keys are hidden
 * @param causalOffset how many more keys than its index each query sees, when causal
 */
public record AttentionSpec(double scale, boolean causal, int causalOffset) {
    /**
     * Checks the settings.
     *
     * @throws IllegalArgumentException if the scale is not finite or the offset is negative
     */
    public AttentionSpec {
        if (!Double.isFinite(scale) || causalOffset < 0)
            throw new IllegalArgumentException("attention: the scale must be finite and the causal offset >= 0, got scale=" + scale
                    + " causalOffset=" + causalOffset);
    }

    /**
     * {@return the number of keys query i sees when causal (all {@code keys} otherwise), between 0 and keys}
     *
     * @param i the query's index
     * @param keys the number of keys
     */
    public int visibleKeys(int i, int keys) {
        return causal ? (int) Math.min(keys, Math.max(0L, (long) i + causalOffset + 1)) : keys;
    }
}
