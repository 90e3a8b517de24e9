package dev.kiln;

/** How a loss reduces its per-element values: not at all, to their (possibly weighted) mean, or to their sum. */
public enum Reduction {
    /** The per-element values themselves. */
    NONE,
    /** Their mean (weighted, where the loss has weights). */
    MEAN,
    /** Their sum. */
    SUM
}
