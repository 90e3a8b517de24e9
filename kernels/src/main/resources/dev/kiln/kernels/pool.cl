// Max pooling over NCHW planes, one work-item per output element. Window taps run in row-major order over the
// positions inside the input only (padding never wins); the first maximum wins ties and a NaN wins outright.
// Indices are flat positions row * w + col in the input plane, as PyTorch's return_indices gives them.

__kernel void KERNEL(max_pool2d)(long n_out, int channels, int h, int w, int oh, int ow,
                                 int kh, int kw, int stride_h, int stride_w, int pad_h, int pad_w, int dil_h, int dil_w,
                                 __global const T* x, long4 x_strides, long x_offset,
                                 __global T* out, long4 out_strides, long out_offset,
                                 __global long* indices, long4 index_strides, long index_offset) {
    FOR_EACH_INDEX(i, n_out) {
        long4 c;  // (image, channel, output row, output column)
        c.s3 = i % ow;
        c.s2 = (i / ow) % oh;
        c.s1 = (i / ((long) ow * oh)) % channels;
        c.s0 = i / ((long) ow * oh * channels);
        __global const T* plane = x + x_offset + c.s0 * x_strides.s0 + c.s1 * x_strides.s1;
        int row0 = (int) c.s2 * stride_h - pad_h, col0 = (int) c.s3 * stride_w - pad_w;
        T best = 0;
        long best_at = -1;
        for (int r = 0; r < kh; r++) {
            int row = row0 + r * dil_h;
            if (row < 0 || row >= h) continue;
            for (int q = 0; q < kw; q++) {
                int col = col0 + q * dil_w;
                if (col < 0 || col >= w) continue;
                T v = plane[row * x_strides.s2 + col * x_strides.s3];
                if (best_at < 0 || (!IS_NAN(best) && (IS_NAN(v) || v > best))) {
                    best = v;
                    best_at = (long) row * w + col;
                }
            }
        }
        out[out_offset + c.s0 * out_strides.s0 + c.s1 * out_strides.s1 + c.s2 * out_strides.s2 + c.s3 * out_strides.s3] = best;
        indices[index_offset + c.s0 * index_strides.s0 + c.s1 * index_strides.s1 + c.s2 * index_strides.s2 + c.s3 * index_strides.s3] = best_at;
    }
}
