package dev.kiln.backend;

/** Reductions over a set of axes. Mean, variance and logsumexp are composed from these above the backends. */
public enum ReduceOp {
    SUM, PROD, MAX, MIN
}
