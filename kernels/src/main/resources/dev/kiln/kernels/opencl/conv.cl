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
// k = (c * kh + i) * kw + j, p = oy * ow + ox, or 0 outside the input. One work-item per column element, in the
// order of the columns' layout (p innermost when p_inner, else k) so that neighbouring work-items store neighbouring
// elements. cols_strides are (n, g, k, p).
__kernel void KERNEL(im2col)(long total, int p_inner, CONV_GEOMETRY,
                             __global const T* x, long4 x_strides, long x_offset,
                             __global T* cols, long4 cols_strides, long cols_offset) {
    const int taps = cg * kh * kw, positions = oh * ow;
    FOR_EACH_INDEX(e, total) {
        int k, p;
        long rest;
        if (p_inner) {
            p = (int) (e % positions);
            rest = e / positions;
            k = (int) (rest % taps);
            rest /= taps;
        } else {
            k = (int) (e % taps);
            rest = e / taps;
            p = (int) (rest % positions);
            rest /= positions;
        }
        const int g = (int) (rest % groups);
        const long n = rest / groups;
        const int j = k % kw, i = (k / kw) % kh, c = k / (kw * kh);
        const int ox = p % ow, oy = p / ow;
        const int y = oy * stride_h - pad_h + i * dil_h, xx = ox * stride_w - pad_w + j * dil_w;
        T v = 0;
        if (y >= 0 && y < h && xx >= 0 && xx < w)
            v = x[x_offset + n * x_strides.s0 + (long) (g * cg + c) * x_strides.s1 + y * x_strides.s2 + xx * x_strides.s3];
        cols[cols_offset + n * cols_strides.s0 + g * cols_strides.s1 + k * cols_strides.s2 + p * cols_strides.s3] = v;
    }
}

// The adjoint of im2col: dx[n][ch][y][x] = the sum of the column elements im2col would have read from there. One
// work-item per input element gathers its taps (no atomics, the same sum order everywhere), so dx is written
// once and needs no zeroing.
__kernel void KERNEL(col2im)(long total, int channels, CONV_GEOMETRY,
                             __global const T* cols, long4 cols_strides, long cols_offset,
                             __global T* dx, long4 dx_strides, long dx_offset) {
    FOR_EACH_INDEX(e, total) {
        const int xx = (int) (e % w), y = (int) ((e / w) % h), ch = (int) ((e / ((long) w * h)) % channels);
        const long n = e / ((long) w * h * channels);
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
}
