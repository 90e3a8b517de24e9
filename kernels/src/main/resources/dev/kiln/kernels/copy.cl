// Fill and copy. Copies between equal dtypes and fills move raw bits, so the host compiles them with T set to the
// unsigned integer type of the element's width (uchar, ushort, uint, ulong) and TN to bits8..bits64: they work
// for every dtype, float64 included on devices without cl_khr_fp64. Converting copies use slots S and D.
// Every operand is a strided view: shape, strides and offset in elements, the shape shared by all operands.

#ifdef T
__kernel void KERNEL(fill)(int rank, long8 shape, long n, T value,
                           __global T* dst, long8 dst_strides, long dst_offset) {
    FOR_EACH_INDEX(i, n) {
        dst[dst_offset + strided_offset(i, rank, shape, dst_strides)] = value;
    }
}

__kernel void KERNEL(copy)(int rank, long8 shape, long n,
                           __global const T* src, long8 src_strides, long src_offset,
                           __global T* dst, long8 dst_strides, long dst_offset) {
    FOR_EACH_INDEX(i, n) {
        long4 at = strided_offsets4(i, rank, shape, src_strides, dst_strides, dst_strides, dst_strides);
        dst[dst_offset + at.s1] = src[src_offset + at.s0];
    }
}
#endif

#ifdef S
#if S_KIND == KIND_HALF
#define CONVERT_S_TO_D(p) FLOAT_TO_D(vload_half(0, (p)))
#elif S_KIND == KIND_BF16
#define CONVERT_S_TO_D(p) FLOAT_TO_D(bf16_to_float(*(p)))
#elif S_KIND == KIND_FLOAT
#define CONVERT_S_TO_D(p) FLOAT_TO_D(*(p))
#else
#define CONVERT_S_TO_D(p) INT_TO_D(*(p))
#endif

__kernel void CAT3(cast, SN, DN)(int rank, long8 shape, long n,
                                 __global const S* src, long8 src_strides, long src_offset,
                                 __global D* dst, long8 dst_strides, long dst_offset) {
    FOR_EACH_INDEX(i, n) {
        long4 at = strided_offsets4(i, rank, shape, src_strides, dst_strides, dst_strides, dst_strides);
        STORE_D(dst + dst_offset + at.s1, CONVERT_S_TO_D(src + src_offset + at.s0));
    }
}
#endif
