// Reductions (op codes REDUCE_*, from dev.kiln.backend.ReduceOp) and arg-reductions (ARG_*).
// The input is seen as "kept" dimensions (one per output element) and "reduced" dimensions (looped over),
// each with its own shape and input strides; the host splits the view's axes that way.

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

// One work-group per output element: for long reductions.
__kernel void KERNEL(reduce_group)(REDUCE_ARGS, LOCAL_ARG(T, scratch)) {
    BIND_LOCAL(T, scratch);
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
