package dev.kiln.backend;

/** Reductions over a set of axes. Mean, variance and logsumexp are composed from these above the backends. */
public enum ReduceOp {
    /** The sum. */
    SUM,
    /** The product. */
    PROD,
    /** The largest value (NaN if any is NaN). */
    MAX,
    /** The smallest value (NaN if any is NaN). */
    MIN
}
