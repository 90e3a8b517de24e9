package dev.kiln.backend;

/**
 * Elementwise functions of one argument. Those marked "alpha" read the scalar parameter of
 * {@link Backend#unary}; the others ignore it. Input and output share a dtype, except {@link #NOT}, which is
 * bool to bool, and {@link #IS_NAN}, which writes bool.
 */
public enum UnaryOp {
    /** -x. */
    NEG,
    /** |x|. */
    ABS,
    /** -1, 0 or 1 by the sign of x (0 for 0, NaN for NaN). */
    SIGN,
    /** e^x. */
    EXP,
    /** e^x - 1, accurate near 0. */
    EXPM1,
    /** The natural logarithm. */
    LOG,
    /** log(1 + x), accurate near 0. */
    LOG1P,
    /** The square root. */
    SQRT,
    /** 1 / sqrt(x). */
    RSQRT,
    /** 1 / x. */
    RECIPROCAL,
    /** x * x. */
    SQUARE,
    /** The sine. */
    SIN,
    /** The cosine. */
    COS,
    /** The hyperbolic tangent. */
    TANH,
    /** The error function. */
    ERF,
    /** The largest integer not above x. */
    FLOOR,
    /** The smallest integer not below x. */
    CEIL,
    /** The nearest integer, halves to even. */
    ROUND,
    /** 1 / (1 + e^-x). */
    SIGMOID,
    /** max(0, x). */
    RELU,
    /** x if x &gt; 0, else alpha * x. */
    LEAKY_RELU,
    /** x if x &gt; 0, else alpha * (exp(x) - 1). */
    ELU,
    /** x * Phi(x), with the exact normal CDF. */
    GELU,
    /** The tanh approximation of GELU. */
    GELU_TANH,
    /** log(1 + exp(x)), computed without overflow. */
    SOFTPLUS,
    /** x * sigmoid(x). */
    SILU,
    /** Logical not, bool to bool. */
    NOT,
    /** Whether x is NaN, written as bool. */
    IS_NAN
}
