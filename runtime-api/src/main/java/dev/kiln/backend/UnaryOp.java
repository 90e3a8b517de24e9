package dev.kiln.backend;

/**
 * Elementwise functions of one argument. Those marked "alpha" read the scalar parameter of
 * {@link Backend#unary}; the others ignore it. Input and output share a dtype, except {@link #NOT}, which is
 * bool to bool, and {@link #IS_NAN}, which writes bool.
 */
public enum UnaryOp {
    NEG, ABS, SIGN, EXP, EXPM1, LOG, LOG1P, SQRT, RSQRT, RECIPROCAL, SQUARE,
    SIN, COS, TANH, ERF, FLOOR, CEIL, ROUND,
    SIGMOID, RELU,
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
    NOT,
    IS_NAN
}
