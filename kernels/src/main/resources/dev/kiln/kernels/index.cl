// Gather, scatter-add, index-select and index-add along one axis, with int32 or int64 indices (IDX).
// Accumulating kernels give each work-item a disjoint set of destination elements and loop over the indexed
// axis in order, so they need no atomics and add in the same order as a sequential loop (deterministic).
// Shapes and strides are full rank (at most MAX_RANK), uncoalesced, since the axis must stay visible.

#define INDEX_ARGS int rank, int axis, long8 shape, long n

// out[c] = src[c with c[axis] replaced by index[c]]; shape is out's (= index's).
__kernel void KERNEL(gather)(INDEX_ARGS,
                             __global const T* src, long8 src_strides, long src_offset,
                             __global const IDX* index, long8 index_strides, long index_offset,
                             __global T* out, long8 out_strides, long out_offset) {
    FOR_EACH_INDEX(i, n) {
        long c[MAX_RANK];
        coords_of(i, rank, shape, c);
        long at = index[index_offset + dot_strides(c, rank, index_strides)];
        out[out_offset + dot_strides(c, rank, out_strides)] =
                src[src_offset + dot_strides(c, rank, src_strides) + (at - c[axis]) * lane(src_strides, axis)];
    }
}

// dst[c with c[axis] replaced by index[c]] += src[c]; shape is index's with the axis of size 1, axis_len its size.
__kernel void KERNEL(scatter_add)(INDEX_ARGS, long axis_len,
                                  __global T* dst, long8 dst_strides, long dst_offset,
                                  __global const IDX* index, long8 index_strides, long index_offset,
                                  __global const T* src, long8 src_strides, long src_offset) {
    FOR_EACH_INDEX(i, n) {
        long c[MAX_RANK];
        coords_of(i, rank, shape, c);
        __global T* d = dst + dst_offset + dot_strides(c, rank, dst_strides);
        __global const IDX* ix = index + index_offset + dot_strides(c, rank, index_strides);
        __global const T* s = src + src_offset + dot_strides(c, rank, src_strides);
        long d_step = lane(dst_strides, axis), ix_step = lane(index_strides, axis), s_step = lane(src_strides, axis);
        for (long j = 0; j < axis_len; j++) d[ix[j * ix_step] * d_step] += s[j * s_step];
    }
}

// A bounds check that never stops the host: the first work-item to find a value of index outside [0, bound)
// claims the error word {claimed, check id, value as two ints} and records itself there; the host reads the word
// at its next synchronisation point. Built with T = IDX, the index's own type.
__kernel void KERNEL(check_index)(int rank, long8 shape, long n,
                                  __global const IDX* index, long8 index_strides, long index_offset,
                                  long bound, int check_id, __global int* error) {
    FOR_EACH_INDEX(i, n) {
        long c[MAX_RANK];
        coords_of(i, rank, shape, c);
        long v = index[index_offset + dot_strides(c, rank, index_strides)];
        if ((v < 0 || v >= bound) && atomic_cmpxchg(error, 0, 1) == 0) {
            error[1] = check_id;
            *(__global long*)(error + 2) = v;
        }
    }
}
