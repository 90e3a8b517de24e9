// Elementwise functions of two arguments (op codes BINARY_*, from dev.kiln.backend.BinaryOp) and where, with the
// semantics of the CPU backend's ScalarMath.
// Arithmetic writes T, comparisons and logical ops write bool (uchar). With scalar_mode 1 the scalar replaces b,
// with 2 it replaces a (scalar op tensor); the unused pointer is then any valid buffer and never read.

inline T binary_arith(int op, T a, T b) {
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
        // Floor division, as the CPU backend's Math.floorDiv. Division by zero, an error there, cannot be
        // raised from a kernel and traps on some devices (PoCL on x86): it yields 0.
        case BINARY_DIV: {
            if (b == 0) return 0;
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
            if (b == 0) return 0;
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

inline uchar binary_predicate(int op, T a, T b) {
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

#define BINARY_BODY(APPLY)                                                                                       \
    FOR_EACH_INDEX(i, n) {                                                                                       \
        long c[MAX_RANK];                                                                                        \
        coords_of(i, rank, shape, c);                                                                            \
        T va = scalar_mode == 2 ? scalar : a[a_offset + dot_strides(c, rank, a_strides)];                        \
        T vb = scalar_mode == 1 ? scalar : b[b_offset + dot_strides(c, rank, b_strides)];                        \
        out[out_offset + dot_strides(c, rank, out_strides)] = APPLY(op, va, vb);                                 \
    }

__kernel void KERNEL(binary)(int op, int scalar_mode, T scalar, int rank, long8 shape, long n,
                             __global const T* a, long8 a_strides, long a_offset,
                             __global const T* b, long8 b_strides, long b_offset,
                             __global T* out, long8 out_strides, long out_offset) {
    BINARY_BODY(binary_arith)
}

__kernel void KERNEL(compare)(int op, int scalar_mode, T scalar, int rank, long8 shape, long n,
                              __global const T* a, long8 a_strides, long a_offset,
                              __global const T* b, long8 b_strides, long b_offset,
                              __global uchar* out, long8 out_strides, long out_offset) {
    BINARY_BODY(binary_predicate)
}

__kernel void KERNEL(where)(int rank, long8 shape, long n,
                            __global const uchar* cond, long8 cond_strides, long cond_offset,
                            __global const T* a, long8 a_strides, long a_offset,
                            __global const T* b, long8 b_strides, long b_offset,
                            __global T* out, long8 out_strides, long out_offset) {
    FOR_EACH_INDEX(i, n) {
        uchar c = cond[cond_offset + strided_offset(i, rank, shape, cond_strides)];
        out[out_offset + strided_offset(i, rank, shape, out_strides)] =
                c ? a[a_offset + strided_offset(i, rank, shape, a_strides)] : b[b_offset + strided_offset(i, rank, shape, b_strides)];
    }
}
