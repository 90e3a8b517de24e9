// Prelude prepended to every family source (after dialect.cl). The host compiles one program per family and dtype
// combination, defining for each type slot X (T, S, D) the macros:
//   X      the storage type, in OpenCL C's names (float, double, int, long, uchar, half, ushort)
//   X_KIND one of the KIND_ constants below
//   XN     the dtype's Kiln name (float32, int64, ...), used to name entry points <op>_<dtype>
// plus KILN_FP64 when the device has cl_khr_fp64, and the op-code constants generated from the Java enums.

#ifdef KILN_FP64
#ifdef KILN_OPENCL
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
typedef double wide_float;
#else
typedef float wide_float;
#endif

#define KIND_FLOAT 1
#define KIND_INT 2
#define KIND_BOOL 3
#define KIND_HALF 4
#define KIND_BF16 5

#define CAT2_(a, b) a##_##b
#define CAT2(a, b) CAT2_(a, b)
#define CAT3(a, b, c) CAT2(CAT2(a, b), c)
#define KERNEL(op) CAT2(op, TN)

#define MAX_RANK 8

// Elementwise kernels loop over their elements with the grid's stride, so they are correct for any grid. The
// host launches one work-item per element all the same: PoCL vectorises across work-items only when each
// handles one element (a 4M-element fill took 48 ms with a capped grid, 3.7 ms without).
#define FOR_EACH_INDEX(i, n) for (long i = get_global_id(0); i < (n); i += get_global_size(0))

// Component d of a long8 (a switch, not an array: private arrays keep PoCL from vectorising).
INLINE long lane(long8 v, int d) {
    switch (d) {
        case 0: return v.s0;
        case 1: return v.s1;
        case 2: return v.s2;
        case 3: return v.s3;
        case 4: return v.s4;
        case 5: return v.s5;
        case 6: return v.s6;
        default: return v.s7;
    }
}

// Element offset of the linear (row-major) index i of a view with this shape and these strides.
INLINE long strided_offset(long i, int rank, long8 shape, long8 strides) {
    if (rank == 1) return i * strides.s0;
    long off = 0;
    for (int d = rank - 1; d >= 0; d--) {
        long size = lane(shape, d), q = i / size;
        off += (i - q * size) * lane(strides, d);
        i = q;
    }
    return off;
}

// Offsets of the linear index i in up to four views of one shape, sharing the index arithmetic.
INLINE long4 strided_offsets4(long i, int rank, long8 shape, long8 s0, long8 s1, long8 s2, long8 s3) {
    if (rank == 1) return i * MAKE_LONG4(s0.s0, s1.s0, s2.s0, s3.s0);
    long4 off = MAKE_LONG4(0, 0, 0, 0);
    for (int d = rank - 1; d >= 0; d--) {
        long size = lane(shape, d), q = i / size;
        off += (i - q * size) * MAKE_LONG4(lane(s0, d), lane(s1, d), lane(s2, d), lane(s3, d));
        i = q;
    }
    return off;
}

// Offsets of the linear index i in the operands of an elementwise kernel. A program built with DENSE is the
// host's promise that every operand is contiguous (coalesced to one dimension of stride 1): the offset is the
// index itself, so loads and stores are contiguous across work-items, which CPU drivers vectorise.
#ifdef DENSE
#define ELEMENT_OFFSETS4(i, rank, shape, s0, s1, s2, s3) MAKE_LONG4(i, i, i, i)
#else
#define ELEMENT_OFFSETS4(i, rank, shape, s0, s1, s2, s3) strided_offsets4(i, rank, shape, s0, s1, s2, s3)
#endif

// Coordinates of the linear index i, innermost last.
INLINE void coords_of(long i, int rank, long8 shape, long* c) {
    for (int d = rank - 1; d >= 0; d--) {
        long size = lane(shape, d), q = i / size;
        c[d] = i - q * size;
        i = q;
    }
}

INLINE long dot_strides(const long* c, int rank, long8 strides) {
    long off = 0;
    for (int d = 0; d < rank; d++) off += c[d] * lane(strides, d);
    return off;
}

// ---- conversions with Kiln's (and Java's) semantics ---------------------------------------------------------
// Floating to integer truncates toward zero and saturates (NaN becomes 0); integer to integer wraps; anything to
// bool is "not zero"; to floating rounds to nearest.

INLINE float bf16_to_float(ushort bits) { return as_float(((uint) bits) << 16); }

INLINE ushort float_to_bf16(float f) {
    uint u = as_uint(f);
    if (isnan(f)) return (ushort) ((u >> 16) | 0x40);
    return (ushort) ((u + 0x7FFF + ((u >> 16) & 1)) >> 16);
}

// For an output slot D: FLOAT_TO_D(v) and INT_TO_D(v) turn a floating or integer value into the value stored,
// STORE_D(p, x) stores it (packing the 16-bit floating types).
#ifdef D
#if D_KIND == KIND_FLOAT
#define FLOAT_TO_D(v) CAT2(convert, D)(v)
#define INT_TO_D(v) CAT2(convert, D)(v)
#define STORE_D(p, x) (*(p) = (x))
#elif D_KIND == KIND_INT
#define FLOAT_TO_D(v) CAT3(convert, D, sat)(v)
#define INT_TO_D(v) CAT2(convert, D)(v)
#define STORE_D(p, x) (*(p) = (x))
#elif D_KIND == KIND_BOOL
#define FLOAT_TO_D(v) ((uchar) ((v) != 0))
#define INT_TO_D(v) ((uchar) ((v) != 0))
#define STORE_D(p, x) (*(p) = (x))
#elif D_KIND == KIND_HALF
#define FLOAT_TO_D(v) convert_float(v)
#define INT_TO_D(v) convert_float(v)
#define STORE_D(p, x) vstore_half_rte((x), 0, (p))
#elif D_KIND == KIND_BF16
#define FLOAT_TO_D(v) convert_float(v)
#define INT_TO_D(v) convert_float(v)
#define STORE_D(p, x) (*(p) = float_to_bf16(x))
#endif
#endif

// For a computing slot T: its lowest and highest values and a NaN test that is false for non-floating types.
#ifdef T
#if T_KIND == KIND_FLOAT
#define LOWEST (-INFINITY)
#define HIGHEST INFINITY
#define IS_NAN(v) isnan(v)
#elif T_KIND == KIND_BOOL
#define LOWEST 0
#define HIGHEST 1
#define IS_NAN(v) false
#else
#define LOWEST (((T) 1) << (sizeof(T) * 8 - 1))
#define HIGHEST ((T) ~LOWEST)
#define IS_NAN(v) false
#endif
#endif

// ---- reductions shared by the reduce and rows families (op codes REDUCE_*) -----------------------------------

#ifdef T
INLINE T reduce_identity(int op) {
    switch (op) {
        case REDUCE_SUM: return 0;
        case REDUCE_PROD: return 1;
        case REDUCE_MAX: return LOWEST;
        default: return HIGHEST;
    }
}

// Max and min propagate NaN, as PyTorch does.
INLINE T reduce_combine(int op, T acc, T v) {
    switch (op) {
        case REDUCE_SUM: return acc + v;
        case REDUCE_PROD: return acc * v;
        case REDUCE_MAX: return IS_NAN(acc) ? acc : (IS_NAN(v) || v > acc ? v : acc);
        default: return IS_NAN(acc) ? acc : (IS_NAN(v) || v < acc ? v : acc);
    }
}

// Tree reduction of one value per work-item in local memory; the group size is a power of two.
INLINE T group_reduce(int op, T v, LOCAL_PTR(T) scratch) {
    int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int half_size = get_local_size(0) / 2; half_size > 0; half_size /= 2) {
        if (lid < half_size) scratch[lid] = reduce_combine(op, scratch[lid], scratch[lid + half_size]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    T result = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return result;
}
#endif
