// Batched matrix product out[z] = a[z] @ b[z] for floating T, every operand strided (a transpose is a swap of
// strides). Each work-group computes a TILE_M x TILE_N block of one output matrix: it stages TILE_K-deep slices
// of a and b in local memory, and each work-item accumulates a WPT_M x WPT_N block in registers, its rows and
// columns interleaved with its neighbours' so that local reads and global writes of a work-group are contiguous.
// The host may override the tile geometry with -D for devices with small work-groups.

#ifndef TILE_M
#define TILE_M 64
#define TILE_N 64
#define TILE_K 16
#define WG_X 16
#define WG_Y 16
#endif
#define WPT_M (TILE_M / WG_Y)
#define WPT_N (TILE_N / WG_X)
#define THREADS (WG_X * WG_Y)

__kernel __attribute__((reqd_work_group_size(WG_X, WG_Y, 1)))
void KERNEL(gemm)(int m, int n, int k, int batch_rank, long8 batch_shape,
                  long8 a_batch_strides, long8 b_batch_strides, long8 out_batch_strides,
                  long a_row_stride, long a_col_stride, long b_row_stride, long b_col_stride,
                  long out_row_stride, long out_col_stride,
                  __global const T* a, long a_offset, __global const T* b, long b_offset,
                  __global T* out, long out_offset) {
    __local T a_tile[TILE_K][TILE_M];
    __local T b_tile[TILE_K][TILE_N];
    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * WG_X + tx;
    const int m0 = get_group_id(1) * TILE_M, n0 = get_group_id(0) * TILE_N;
    const long z = get_global_id(2);
    a += a_offset + strided_offset(z, batch_rank, batch_shape, a_batch_strides);
    b += b_offset + strided_offset(z, batch_rank, batch_shape, b_batch_strides);
    out += out_offset + strided_offset(z, batch_rank, batch_shape, out_batch_strides);

    T acc[WPT_M][WPT_N];
    for (int i = 0; i < WPT_M; i++)
        for (int j = 0; j < WPT_N; j++) acc[i][j] = 0;

    for (int k0 = 0; k0 < k; k0 += TILE_K) {
        for (int l = tid; l < TILE_M * TILE_K; l += THREADS) {
            int kk = l % TILE_K, r = l / TILE_K;
            int gm = m0 + r, gk = k0 + kk;
            a_tile[kk][r] = gm < m && gk < k ? a[gm * a_row_stride + gk * a_col_stride] : 0;
        }
        for (int l = tid; l < TILE_K * TILE_N; l += THREADS) {
            int c = l % TILE_N, kk = l / TILE_N;
            int gn = n0 + c, gk = k0 + kk;
            b_tile[kk][c] = gn < n && gk < k ? b[gk * b_row_stride + gn * b_col_stride] : 0;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TILE_K; kk++) {
            T a_reg[WPT_M], b_reg[WPT_N];
            for (int i = 0; i < WPT_M; i++) a_reg[i] = a_tile[kk][ty + i * WG_Y];
            for (int j = 0; j < WPT_N; j++) b_reg[j] = b_tile[kk][tx + j * WG_X];
            for (int i = 0; i < WPT_M; i++)
                for (int j = 0; j < WPT_N; j++) acc[i][j] = mad(a_reg[i], b_reg[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }

    for (int i = 0; i < WPT_M; i++) {
        int gm = m0 + ty + i * WG_Y;
        if (gm >= m) break;
        for (int j = 0; j < WPT_N; j++) {
            int gn = n0 + tx + j * WG_X;
            if (gn < n) out[gm * out_row_stride + gn * out_col_stride] = acc[i][j];
        }
    }
}
