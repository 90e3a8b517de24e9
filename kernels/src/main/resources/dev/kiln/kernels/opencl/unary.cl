// Elementwise functions of one argument (op codes UNARY_*, generated from dev.kiln.backend.UnaryOp).
// T is the input and output type. Floating types compute in T; integer and bool types compute the exact ops
// in T and the transcendental ones through wide_float, truncating back.

#if T_KIND == KIND_FLOAT
typedef T F;
#else
typedef wide_float F;
#endif

inline F unary_floating(int op, F x, F alpha) {
    const F half_ = (F) 0.5;
    switch (op) {
        case UNARY_NEG: return -x;
        case UNARY_ABS: return fabs(x);
        case UNARY_SIGN: return x > 0 ? (F) 1 : (x < 0 ? (F) -1 : x);
        case UNARY_EXP: return exp(x);
        case UNARY_EXPM1: return expm1(x);
        case UNARY_LOG: return log(x);
        case UNARY_LOG1P: return log1p(x);
        case UNARY_SQRT: return sqrt(x);
        case UNARY_RSQRT: return (F) 1 / sqrt(x);
        case UNARY_RECIPROCAL: return (F) 1 / x;
        case UNARY_SQUARE: return x * x;
        case UNARY_SIN: return sin(x);
        case UNARY_COS: return cos(x);
        case UNARY_TANH: return tanh(x);
        case UNARY_ERF: return erf(x);
        case UNARY_FLOOR: return floor(x);
        case UNARY_CEIL: return ceil(x);
        case UNARY_ROUND: return rint(x);
        case UNARY_SIGMOID: return (F) 1 / ((F) 1 + exp(-x));
        case UNARY_RELU: return x < 0 ? (F) 0 : x;
        case UNARY_LEAKY_RELU: return x > 0 ? x : alpha * x;
        case UNARY_ELU: return x > 0 ? x : alpha * expm1(x);
        case UNARY_GELU: return half_ * x * ((F) 1 + erf(x * (F) M_SQRT1_2));
        case UNARY_GELU_TANH: {
            F inner = (F) 0.7978845608028654 * (x + (F) 0.044715 * x * x * x);
            return half_ * x * ((F) 1 + tanh(inner));
        }
        case UNARY_SOFTPLUS: return fmax(x, (F) 0) + log1p(exp(-fabs(x)));
        case UNARY_SILU: return x / ((F) 1 + exp(-x));
        case UNARY_NOT: return x == 0 ? (F) 1 : (F) 0;
        default: return NAN;
    }
}

inline T unary_op(int op, T x, F alpha) {
#if T_KIND == KIND_FLOAT
    return unary_floating(op, x, alpha);
#else
    switch (op) {
        case UNARY_NOT: return x == 0 ? 1 : 0;
#if T_KIND == KIND_INT
        case UNARY_NEG: return -x;
        case UNARY_ABS: return x < 0 ? -x : x;
        case UNARY_SIGN: return x > 0 ? 1 : (x < 0 ? -1 : 0);
        case UNARY_SQUARE: return x * x;
        case UNARY_RELU: return x < 0 ? 0 : x;
        case UNARY_FLOOR: case UNARY_CEIL: case UNARY_ROUND: return x;
        default: return CAT3(convert, T, sat)(unary_floating(op, (F) x, alpha));
#else
        default: return unary_floating(op, (F) x, alpha) != 0 ? 1 : 0;
#endif
    }
#endif
}

__kernel void KERNEL(unary)(int op, F alpha, int rank, long8 shape, long n,
                            __global const T* x, long8 x_strides, long x_offset,
                            __global T* out, long8 out_strides, long out_offset) {
    FOR_EACH_INDEX(i, n) {
        T v = x[x_offset + strided_offset(i, rank, shape, x_strides)];
        out[out_offset + strided_offset(i, rank, shape, out_strides)] = unary_op(op, v, alpha);
    }
}

__kernel void KERNEL(is_nan)(int rank, long8 shape, long n,
                            __global const T* x, long8 x_strides, long x_offset,
                            __global uchar* out, long8 out_strides, long out_offset) {
    FOR_EACH_INDEX(i, n) {
#if T_KIND == KIND_FLOAT
        T v = x[x_offset + strided_offset(i, rank, shape, x_strides)];
        out[out_offset + strided_offset(i, rank, shape, out_strides)] = isnan(v) ? 1 : 0;
#else
        out[out_offset + strided_offset(i, rank, shape, out_strides)] = 0;
#endif
    }
}
