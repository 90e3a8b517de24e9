package dev.kiln.backend;

/**
 * Distributions for {@link Backend#random}. Each element i of the output draws from the Philox4x32-10
 * stream at counter {@code offset + i} under the key {@code seed} (see {@link dev.kiln.random.Philox}),
 * so every backend produces the same numbers for the same seed.
 */
public enum Distribution {
    /** Uniform on [a, b). */
    UNIFORM,
    /** Normal with mean a and standard deviation b (Box-Muller on the first two words). */
    NORMAL,
    /** 1 with probability a, else 0. */
    BERNOULLI,
    /** Integers uniform on [a, b). */
    INTEGER
}
