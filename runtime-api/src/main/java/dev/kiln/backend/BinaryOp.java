package dev.kiln.backend;

/**
 * Elementwise functions of two arguments. Both inputs share one dtype; arithmetic ops write that dtype,
 * comparisons and logical ops write bool.
 */
public enum BinaryOp {
    /** a + b. */
    ADD,
    /** a - b. */
    SUB,
    /** a * b. */
    MUL,
    /** a / b (true division; integer division truncates). */
    DIV,
    /** a to the power b. */
    POW,
    /** The larger of a and b, NaN if either is. */
    MAXIMUM,
    /** The smaller of a and b, NaN if either is. */
    MINIMUM,
    /** Floor remainder, with the sign of the divisor (Python's and PyTorch's {@code %}). */
    REMAINDER,
    /** a == b. */
    EQ,
    /** a != b. */
    NE,
    /** a &lt; b. */
    LT,
    /** a &lt;= b. */
    LE,
    /** a &gt; b. */
    GT,
    /** a &gt;= b. */
    GE,
    /** Logical and of bools. */
    AND,
    /** Logical or of bools. */
    OR,
    /** Logical exclusive or of bools. */
    XOR;

    /** {@return whether this op compares (EQ to GE) and so writes bool} */
    public boolean isComparison() {
        return switch (this) {
            case EQ, NE, LT, LE, GT, GE -> true;
            default -> false;
        };
    }

    /** {@return whether this op is AND, OR or XOR} */
    public boolean isLogical() { return this == AND || this == OR || this == XOR; }

    /** {@return whether the output is bool whatever the inputs' dtype} */
    public boolean writesBool() { return isComparison() || isLogical(); }
}
