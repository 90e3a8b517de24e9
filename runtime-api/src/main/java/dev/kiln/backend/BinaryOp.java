package dev.kiln.backend;

/**
 * Elementwise functions of two arguments. Both inputs share one dtype; arithmetic ops write that dtype,
 * comparisons and logical ops write bool.
 */
public enum BinaryOp {
    ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM,
    /** Floor remainder, with the sign of the divisor (Python's and PyTorch's {@code %}). */
    REMAINDER,
    EQ, NE, LT, LE, GT, GE,
    AND, OR, XOR;

    public boolean isComparison() {
        return switch (this) {
            case EQ, NE, LT, LE, GT, GE -> true;
            default -> false;
        };
    }

    public boolean isLogical() { return this == AND || this == OR || this == XOR; }

    public boolean writesBool() { return isComparison() || isLogical(); }
}
