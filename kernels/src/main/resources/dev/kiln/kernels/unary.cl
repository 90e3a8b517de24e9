// Elementwise functions of one argument, with the semantics of the CPU backend's ScalarMath. Each program is
// built for one op: OP is its code (UNARY_*, from dev.kiln.backend.UnaryOp), so the switch below folds away,
// and ENTRY names the entry point <op>_<dtype>, e.g. exp_float32. T is the input type, OUT_T the output
// type (T, or uchar for is_nan). Floating types compute in T; integer and bool types support the ops that are
// exact on integers (the host rejects the others).

#if T_KIND == KIND_FLOAT
typedef T F;

INLINE T sigmoid(T x) { return x >= 0 ? (T) 1 / ((T) 1 + exp(-x)) : exp(x) / ((T) 1 + exp(x)); }

INLINE T unary_op(int op, T x, T alpha) {
    switch (op) {
        case UNARY_NEG: return -x;
        case UNARY_ABS: return fabs(x);
        case UNARY_SIGN: return x > 0 ? (T) 1 : (x < 0 ? (T) -1 : x);
        case UNARY_EXP: return exp(x);
        case UNARY_EXPM1: return expm1(x);
        case UNARY_LOG: return log(x);
        case UNARY_LOG1P: return log1p(x);
        case UNARY_SQRT: return sqrt(x);
        case UNARY_RSQRT: return (T) 1 / sqrt(x);
        case UNARY_RECIPROCAL: return (T) 1 / x;
        case UNARY_SQUARE: return x * x;
        case UNARY_SIN: return sin(x);
        case UNARY_COS: return cos(x);
        case UNARY_TANH: return tanh(x);
        case UNARY_ERF: return erf(x);
        case UNARY_FLOOR: return floor(x);
        case UNARY_CEIL: return ceil(x);
        case UNARY_ROUND: return rint(x);
        case UNARY_SIGMOID: return sigmoid(x);
        case UNARY_RELU: return x > 0 || isnan(x) ? x : (T) 0;
        case UNARY_LEAKY_RELU: return x > 0 ? x : alpha * x;
        case UNARY_ELU: return x > 0 ? x : alpha * expm1(x);
        case UNARY_GELU: return (T) 0.5 * x * ((T) 1 + erf(x / sqrt((T) 2)));
        case UNARY_GELU_TANH: {
            T inner = sqrt((T) 2 / (T) M_PI) * (x + (T) 0.044715 * x * x * x);
            return (T) 0.5 * x * ((T) 1 + tanh(inner));
        }
        case UNARY_SOFTPLUS: return x > 20 ? x : log1p(exp(x));
        case UNARY_SILU: return x * sigmoid(x);
        case UNARY_NOT: return x == 0 ? (T) 1 : (T) 0;
        case UNARY_IS_NAN: return isnan(x) ? (T) 1 : (T) 0;
        default: return NAN;
    }
}
#else
typedef wide_float F;

INLINE T unary_op(int op, T x, F alpha) {
    long v = x, r;
    switch (op) {
        case UNARY_NEG: r = -v; break;
        case UNARY_ABS: r = v < 0 ? -v : v; break;
        case UNARY_SIGN: r = v > 0 ? 1 : (v < 0 ? -1 : 0); break;
        case UNARY_SQUARE: r = v * v; break;
        case UNARY_RELU: r = v > 0 ? v : 0; break;
        case UNARY_NOT: r = v == 0; break;
        case UNARY_IS_NAN: r = 0; break;
        default: r = v; // floor, ceil and round are the identity on integers
    }
#if T_KIND == KIND_BOOL
    return r != 0;
#else
    return (T) r;
#endif
}
#endif

#ifndef FUSED // a fused program's unit (backend-kernel's FusedKernels) takes unary_op only
#ifdef VEC_FN
// Dense floating operands on CPU drivers, for the ops that are one OpenCL builtin (VEC_FN, e.g. exp): each
// work-item applies it to 16 neighbouring elements as one vector (PoCL does not vectorise the scalar exp across
// work-items), the work-item holding the ragged end element by element.
__kernel void ENTRY(F alpha, long n, __global const T* x, long x_offset, __global OUT_T* out, long out_offset) {
    const long i0 = get_global_id(0) * 16;
    x += x_offset;
    out += out_offset;
    if (i0 + 16 <= n) {
        vstore16(VEC_FN(vload16(0, x + i0)), 0, out + i0);
        return;
    }
    for (long i = i0; i < n; i++) out[i] = unary_op(OP, x[i], alpha);
}
#else
__kernel void ENTRY(F alpha, int rank, long8 shape, long n,
                            __global const T* x, long8 x_strides, long x_offset,
                            __global OUT_T* out, long8 out_strides, long out_offset) {
    FOR_EACH_INDEX(i, n) {
        long4 at = ELEMENT_OFFSETS4(i, rank, shape, x_strides, out_strides, out_strides, out_strides);
        out[out_offset + at.s1] = (OUT_T) unary_op(OP, x[x_offset + at.s0], alpha);
    }
}
#endif
#endif
