// 2-D convolution over NCHW tensors as im2col + GEMM: im2col lays the input out as "columns", one row per
// kernel tap (channel within the group, tap row, tap column) and one column per output position, so that the
// convolution is a matrix product with the weights; col2im is its adjoint, summing the columns back into an
// input-shaped gradient. Both take the input and the columns as strided views, so the host chooses the columns'
// layout (row- or column-major per image) to suit the GEMM that reads or wrote them, and padding is a bounds test
// here instead of a zero-bordered copy of the input.

// The geometry every conv kernel shares: the input plane, the kernel window and the output plane.
#define CONV_GEOMETRY                                                                                       \
    int groups, int cg, int h, int w, int kh, int kw, int oh, int ow,                                        \
    int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w

// cols[n][g][k][p] = x[n][g * cg + c][oy * stride_h - pad_h + i * dil_h][ox * stride_w - pad_w + j * dil_w],
// k = (c * kh + i) * kw + j, p = oy * ow + ox, or 0 outside the input. The range is (ow, oh, N * G * K): one
// work-item per column element, neighbouring work-items on neighbouring output columns, so that with stride 1
// their loads are contiguous and the index arithmetic is per row (CPU drivers vectorise along dimension 0).
// cols_strides are (n, g, k, p).
__kernel void KERNEL(im2col)(CONV_GEOMETRY, __global const T* x, long4 x_strides, long x_offset,
                             __global T* cols, long4 cols_strides, long cols_offset) {
    const int ox = get_global_id(0), oy = get_global_id(1);
    PAST_RANGE_RETURN(ox >= ow || oy >= oh);
    const int taps = cg * kh * kw;
    const long row = get_global_id(2);
    const int k = (int) (row % taps);
    const long ng = row / taps;
    const int g = (int) (ng % groups);
    const long n = ng / groups;
    const int j = k % kw, i = (k / kw) % kh, c = k / (kw * kh);
    const int y = oy * stride_h - pad_h + i * dil_h, xx = ox * stride_w - pad_w + j * dil_w;
    T v = 0;
    if (y >= 0 && y < h && xx >= 0 && xx < w)
        v = x[x_offset + n * x_strides.s0 + (long) (g * cg + c) * x_strides.s1 + y * x_strides.s2 + xx * x_strides.s3];
    cols[cols_offset + n * cols_strides.s0 + g * cols_strides.s1 + k * cols_strides.s2 + (long) (oy * ow + ox) * cols_strides.s3] = v;
}

// The adjoint of im2col: dx[n][ch][y][x] = the sum of the column elements im2col would have read from there. One
// work-item per input element (range (w, h, N * C)) gathers its taps: no atomics, the same sum order everywhere,
// and dx is written once, so it needs no zeroing.
__kernel void KERNEL(col2im)(CONV_GEOMETRY, __global const T* cols, long4 cols_strides, long cols_offset,
                             __global T* dx, long4 dx_strides, long dx_offset) {
    const int xx = get_global_id(0), y = get_global_id(1);
    PAST_RANGE_RETURN(xx >= w || y >= h);
    const long plane = get_global_id(2);
    const int ch = (int) (plane % (groups * cg));
    const long n = plane / (groups * cg);
    const int g = ch / cg, c = ch - g * cg;
    __global const T* base = cols + cols_offset + n * cols_strides.s0 + g * cols_strides.s1;
    T acc = 0;
    for (int i = 0; i < kh; i++) {
        const int ty = y + pad_h - i * dil_h;
        if (ty < 0 || ty % stride_h != 0 || ty / stride_h >= oh) continue;
        for (int j = 0; j < kw; j++) {
            const int tx = xx + pad_w - j * dil_w;
            if (tx < 0 || tx % stride_w != 0 || tx / stride_w >= ow) continue;
            const long k = ((long) c * kh + i) * kw + j, p = (long) (ty / stride_h) * ow + tx / stride_w;
            acc += base[k * cols_strides.s2 + p * cols_strides.s3];
        }
    }
    dx[dx_offset + n * dx_strides.s0 + ch * dx_strides.s1 + y * dx_strides.s2 + xx * dx_strides.s3] = acc;
}
