// Reductions (op codes REDUCE_*, from dev.kiln.backend.ReduceOp), arg-reductions (ARG_*) and softmax.
// The input is seen as "kept" dimensions (one per output element) and "reduced" dimensions (looped over),
// each with its own shape and input strides; the host splits the view's axes that way.

inline T reduce_identity(int op) {
    switch (op) {
        case REDUCE_SUM: return 0;
        case REDUCE_PROD: return 1;
        case REDUCE_MAX: return LOWEST;
        default: return HIGHEST;
    }
}

// Max and min propagate NaN, as PyTorch does.
inline T reduce_combine(int op, T acc, T v) {
    switch (op) {
        case REDUCE_SUM: return acc + v;
        case REDUCE_PROD: return acc * v;
        case REDUCE_MAX: return IS_NAN(acc) ? acc : (IS_NAN(v) || v > acc ? v : acc);
        default: return IS_NAN(acc) ? acc : (IS_NAN(v) || v < acc ? v : acc);
    }
}

#define REDUCE_ARGS                                                                                          \
    int op, long n_out, int kept_rank, long8 kept_shape, long8 kept_strides, long8 out_strides,              \
    int red_rank, long8 red_shape, long8 red_strides, long red_n,                                            \
    __global const T* x, long x_offset, __global T* out, long out_offset

// One work-item per output element: for many short reductions.
__kernel void KERNEL(reduce_serial)(REDUCE_ARGS) {
    FOR_EACH_INDEX(o, n_out) {
        __global const T* base = x + x_offset + strided_offset(o, kept_rank, kept_shape, kept_strides);
        T acc = reduce_identity(op);
        for (long j = 0; j < red_n; j++) acc = reduce_combine(op, acc, base[strided_offset(j, red_rank, red_shape, red_strides)]);
        out[out_offset + strided_offset(o, kept_rank, kept_shape, out_strides)] = acc;
    }
}

// Tree reduction of one value per work-item in local memory; the group size is a power of two.
inline T group_reduce(int op, T v, __local T* scratch) {
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

// One work-group per output element: for long reductions.
__kernel void KERNEL(reduce_group)(REDUCE_ARGS, __local T* scratch) {
    long o = get_group_id(0);
    __global const T* base = x + x_offset + strided_offset(o, kept_rank, kept_shape, kept_strides);
    T acc = reduce_identity(op);
    for (long j = get_local_id(0); j < red_n; j += get_local_size(0))
        acc = reduce_combine(op, acc, base[strided_offset(j, red_rank, red_shape, red_strides)]);
    acc = group_reduce(op, acc, scratch);
    if (get_local_id(0) == 0) out[out_offset + strided_offset(o, kept_rank, kept_shape, out_strides)] = acc;
}

// Index of the first extreme along one axis; a NaN is more extreme than any number.
__kernel void KERNEL(arg_reduce)(int op, long n_out, int kept_rank, long8 kept_shape, long8 kept_strides, long8 out_strides,
                                 long axis_len, long axis_stride,
                                 __global const T* x, long x_offset, __global long* out, long out_offset) {
    FOR_EACH_INDEX(o, n_out) {
        __global const T* base = x + x_offset + strided_offset(o, kept_rank, kept_shape, kept_strides);
        T best = base[0];
        long best_index = 0;
        for (long j = 1; j < axis_len && !IS_NAN(best); j++) {
            T v = base[j * axis_stride];
            if (IS_NAN(v) || (op == ARG_ARGMAX ? v > best : v < best)) {
                best = v;
                best_index = j;
            }
        }
        out[out_offset + strided_offset(o, kept_rank, kept_shape, out_strides)] = best_index;
    }
}

#if T_KIND == KIND_FLOAT
// Softmax or log-softmax of each row along one axis, one work-group per row.
__kernel void KERNEL(softmax)(int log_softmax, int kept_rank, long8 kept_shape, long8 kept_strides, long8 out_kept_strides,
                              long axis_len, long axis_stride, long out_axis_stride,
                              __global const T* x, long x_offset, __global T* out, long out_offset, __local T* scratch) {
    long row = get_group_id(0);
    int lid = get_local_id(0), size = get_local_size(0);
    __global const T* in = x + x_offset + strided_offset(row, kept_rank, kept_shape, kept_strides);
    __global T* dst = out + out_offset + strided_offset(row, kept_rank, kept_shape, out_kept_strides);
    T m = -INFINITY;
    for (long j = lid; j < axis_len; j += size) m = reduce_combine(REDUCE_MAX, m, in[j * axis_stride]);
    m = group_reduce(REDUCE_MAX, m, scratch);
    T s = 0;
    for (long j = lid; j < axis_len; j += size) s += exp(in[j * axis_stride] - m);
    s = group_reduce(REDUCE_SUM, s, scratch);
    T log_s = log(s);
    for (long j = lid; j < axis_len; j += size) {
        T shifted = in[j * axis_stride] - m;
        dst[j * out_axis_stride] = log_softmax ? shifted - log_s : exp(shifted) / s;
    }
}
#endif
