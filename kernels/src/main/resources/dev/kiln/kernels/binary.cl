// Elementwise functions of two arguments, with the semantics of the CPU backend's ScalarMath, and where.
// A program built with OP (a BINARY_* code, from dev.kiln.backend.BinaryOp) holds the entry point ENTRY, named
// <op>_<dtype> (e.g. add_float32), with the op folded in; one built without OP holds where_<dtype>.
// Arithmetic writes T, comparisons and logical ops write bool: OUT_T is set accordingly. With scalar_mode 1 the
// scalar replaces b, with 2 it replaces a (scalar op tensor); the unused pointer is then any valid buffer.

#if defined(OP) || defined(FUSED) // a fused program's unit (backend-kernel's FusedKernels) takes the two functions below
INLINE T binary_arith(int op, T a, T b) {
#if T_KIND == KIND_FLOAT
    switch (op) {
        case BINARY_ADD: return a + b;
        case BINARY_SUB: return a - b;
        case BINARY_MUL: return a * b;
        case BINARY_DIV: return a / b;
        case BINARY_POW: return pow(a, b);
        case BINARY_MAXIMUM: return isnan(a) || isnan(b) ? a + b : fmax(a, b);
        case BINARY_MINIMUM: return isnan(a) || isnan(b) ? a + b : fmin(a, b);
        case BINARY_REMAINDER: {
            T r = fmod(a, b);
            return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
        }
        default: return NAN;
    }
#elif T_KIND == KIND_INT
    switch (op) {
        case BINARY_ADD: return a + b;
        case BINARY_SUB: return a - b;
        case BINARY_MUL: return a * b;
        // Floor division and remainder with the CPU backend's (ScalarMath) total semantics: x / 0 = 0 and
        // x % 0 = x (a kernel cannot raise, and division by zero traps on some devices, PoCL on x86 among them);
        // MIN / -1 wraps to MIN and MIN % -1 = 0, computed without the signed overflow C leaves undefined.
        case BINARY_DIV: {
            if (b == 0) return 0;
            if (b == -1) return (T) (-(ulong) a);
            T q = a / b;
            return (a % b != 0) && ((a < 0) != (b < 0)) ? q - 1 : q;
        }
        case BINARY_POW: {
            if (b < 0) return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);
            T result = 1, base = a;
            for (T e = b; e > 0; e >>= 1) {
                if (e & 1) result *= base;
                base *= base;
            }
            return result;
        }
        case BINARY_MAXIMUM: return max(a, b);
        case BINARY_MINIMUM: return min(a, b);
        case BINARY_REMAINDER: {
            if (b == 0) return a;
            if (b == -1) return 0;
            T r = a % b;
            return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
        }
        default: return 0;
    }
#else
    // bool arithmetic as PyTorch does it: add and maximum are "or", mul and minimum are "and".
    switch (op) {
        case BINARY_ADD: case BINARY_MAXIMUM: return (a | b) != 0;
        case BINARY_MUL: case BINARY_MINIMUM: return (a & b) != 0;
        case BINARY_SUB: return (a ^ b) != 0;
        default: return 0;
    }
#endif
}

INLINE uchar binary_predicate(int op, T a, T b) {
    switch (op) {
        case BINARY_EQ: return a == b;
        case BINARY_NE: return a != b;
        case BINARY_LT: return a < b;
        case BINARY_LE: return a <= b;
        case BINARY_GT: return a > b;
        case BINARY_GE: return a >= b;
        case BINARY_AND: return (a != 0) && (b != 0);
        case BINARY_OR: return (a != 0) || (b != 0);
        case BINARY_XOR: return (a != 0) != (b != 0);
        default: return 0;
    }
}

#ifndef FUSED
// The op's result as OUT_T: arithmetic for T outputs, predicates for bool ones.
INLINE OUT_T binary_op(T a, T b) {
    switch (OP) {
        case BINARY_EQ: case BINARY_NE: case BINARY_LT: case BINARY_LE: case BINARY_GT: case BINARY_GE:
        case BINARY_AND: case BINARY_OR: case BINARY_XOR:
            return binary_predicate(OP, a, b);
        default:
            return binary_arith(OP, a, b);
    }
}

#ifdef VEC_OP
// Dense floating operands on CPU drivers, for the ops that are one operator (VEC_OP: + - * /): each work-item
// computes 16 neighbouring elements as one vector, the work-item holding the ragged end element by element.
#define VEC16_(t) t##16
#define VEC16(t) VEC16_(t)
__kernel void ENTRY(int scalar_mode, T scalar, long n, __global const T* a, long a_offset,
                    __global const T* b, long b_offset, __global OUT_T* out, long out_offset) {
    const long i0 = get_global_id(0) * 16;
    a += a_offset;
    b += b_offset;
    out += out_offset;
    if (i0 + 16 <= n) {
        VEC16(T) va = scalar_mode == 2 ? (VEC16(T)) scalar : vload16(0, a + i0);
        VEC16(T) vb = scalar_mode == 1 ? (VEC16(T)) scalar : vload16(0, b + i0);
        vstore16(va VEC_OP vb, 0, out + i0);
        return;
    }
    for (long i = i0; i < n; i++) out[i] = binary_op(scalar_mode == 2 ? scalar : a[i], scalar_mode == 1 ? scalar : b[i]);
}
#else
__kernel void ENTRY(int scalar_mode, T scalar, int rank, long8 shape, long n,
                            __global const T* a, long8 a_strides, long a_offset,
                            __global const T* b, long8 b_strides, long b_offset,
                            __global OUT_T* out, long8 out_strides, long out_offset) {
    FOR_EACH_INDEX(i, n) {
        long4 at = ELEMENT_OFFSETS4(i, rank, shape, a_strides, b_strides, out_strides, out_strides);
        T va = scalar_mode == 2 ? scalar : a[a_offset + at.s0];
        T vb = scalar_mode == 1 ? scalar : b[b_offset + at.s1];
        out[out_offset + at.s2] = binary_op(va, vb);
    }
}
#endif

#endif // FUSED

#else
__kernel void KERNEL(where)(int rank, long8 shape, long n,
                            __global const uchar* cond, long8 cond_strides, long cond_offset,
                            __global const T* a, long8 a_strides, long a_offset,
                            __global const T* b, long8 b_strides, long b_offset,
                            __global T* out, long8 out_strides, long out_offset) {
    FOR_EACH_INDEX(i, n) {
        long4 at = strided_offsets4(i, rank, shape, cond_strides, a_strides, b_strides, out_strides);
        out[out_offset + at.s3] = cond[cond_offset + at.s0] ? a[a_offset + at.s1] : b[b_offset + at.s2];
    }
}
#endif
