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

__kernel REQD_WORK_GROUP_SIZE(WG_X, WG_Y, 1)
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

#if KILN_WIDE_VECTORS  // OpenCL's 16-lane vector types; CUDA devices take the tiled kernel above
// ---- register-blocked kernel, for CPU devices ----------------------------------------------------------------
// PoCL (and CPU drivers like it) run a work-group as a loop over its work-items, so what pays there is work inside
// one work-item: each computes RM rows x VN columns of out as RM vectors of VN lanes, loading b a vector at a time
// along a row (b's columns must be contiguous: the host packs b otherwise) and broadcasting a's elements. A work-
// group of GX x GY items covers a (RM*GY) x (VN*GX) block; every item steps through k in chunks of KC with a
// barrier between chunks, so the whole group works on the same chunk while its slices of a and b sit in cache.
// Items past the edges compute on clamped rows and columns and store nothing there, so all reach the barriers.

#ifndef RM
#define RM 12
#define VN 16
#define GX 8
#define GY 2
#define KC 256
#endif
#define GLUE_(a, b) a##b
#define GLUE(a, b) GLUE_(a, b)
#define TV GLUE(T, VN)
#define VLOAD GLUE(vload, VN)
#define VSTORE GLUE(vstore, VN)

__kernel REQD_WORK_GROUP_SIZE(GX, GY, 1)
void KERNEL(gemm_blocked)(int m, int n, int k, int batch_rank, long8 batch_shape,
                          long8 a_batch_strides, long8 b_batch_strides, long8 out_batch_strides,
                          long a_row_stride, long a_col_stride, long b_row_stride,
                          long out_row_stride, long out_col_stride,
                          __global const T* a, long a_offset, __global const T* b, long b_offset,
                          __global T* out, long out_offset) {
    const long z = get_global_id(2);
    a += a_offset + strided_offset(z, batch_rank, batch_shape, a_batch_strides);
    b += b_offset + strided_offset(z, batch_rank, batch_shape, b_batch_strides);
    out += out_offset + strided_offset(z, batch_rank, batch_shape, out_batch_strides);
    const int i0 = get_global_id(1) * RM, j0 = get_global_id(0) * VN;
    // A full block of columns loads b as vectors; the ragged last one goes through a zero-padded private row.
    const bool full_columns = j0 + VN <= n;

    TV acc[RM];
    for (int r = 0; r < RM; r++) acc[r] = (TV) 0;
    for (int k0 = 0; k0 < k; k0 += KC) {
        const int k1 = min(k0 + KC, k);
        for (int p = k0; p < k1; p++) {
            __global const T* b_row = b + p * b_row_stride;
            TV bv;
            if (full_columns) {
                bv = VLOAD(0, b_row + j0);
            } else {
                T padded[VN];
                for (int c = 0; c < VN; c++) padded[c] = j0 + c < n ? b_row[j0 + c] : 0;
                bv = VLOAD(0, padded);
            }
            for (int r = 0; r < RM; r++) {
                const int row = min(i0 + r, m - 1);
                acc[r] = mad((TV) a[row * a_row_stride + p * a_col_stride], bv, acc[r]);
            }
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
    }

    for (int r = 0; r < RM && i0 + r < m; r++) {
        __global T* out_row = out + (i0 + r) * out_row_stride;
        if (full_columns && out_col_stride == 1) {
            VSTORE(acc[r], 0, out_row + j0);
        } else {
            T lanes[VN];
            VSTORE(acc[r], 0, lanes);
            for (int c = 0; c < VN && j0 + c < n; c++) out_row[(j0 + c) * out_col_stride] = lanes[c];
        }
    }
}
#endif
