package dev.kiln.backend;

/** Index-producing reductions along one axis; ties resolve to the first index, NaN counts as the extreme. */
public enum ArgReduceOp {
    /** The index of the largest value. */
    ARGMAX,
    /** The index of the smallest value. */
    ARGMIN
}
