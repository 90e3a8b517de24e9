// Row-wise kernels for floating T: softmax, log-softmax, layer normalisation and reductions of contiguous rows. A row is one position of
// the "kept" dimensions (addressed with the kept shape and each operand's kept strides) and n elements along it,
// each operand with its own element stride. One work-group per row: its work-items share the row and combine
// their partial sums in local memory. On GPUs the host launches wide groups and ROW_VW 1 (neighbouring
// work-items read neighbouring elements); on CPU drivers, which run a work-group as a loop over its items,
// groups of one item with ROW_VW 16, the host's promise that every operand's row is contiguous, so each item
// walks its row in 16-lane vectors (vector exp included) and finishes the ragged tail one element at a time.

#if T_KIND == KIND_FLOAT

#ifndef ROW_VW
#define ROW_VW 1
#endif

#define GLUE_(a, b) a##b
#define GLUE(a, b) GLUE_(a, b)

#if ROW_VW == 1
#define TR T
#define ROW_LOAD(p, j, stride) ((p)[(j) * (stride)])
#define ROW_STORE(v, p, j, stride) ((p)[(j) * (stride)] = (v))
#define ROW_SUM(v) (v)
#define ROW_MAX(v) (v)
#else
#define TR GLUE(T, ROW_VW)
#define ROW_LOAD(p, j, stride) GLUE(vload, ROW_VW)(0, (p) + (j))
#define ROW_STORE(v, p, j, stride) GLUE(vstore, ROW_VW)((v), 0, (p) + (j))
#define ROW_SUM(v) hsum(v)
#define ROW_MAX(v) hmax(v)
#define T8 GLUE(T, 8)
#define T4 GLUE(T, 4)
#define T2 GLUE(T, 2)
INLINE T hsum(TR v) { T8 a = v.lo + v.hi; T4 b = a.lo + a.hi; T2 c = b.lo + b.hi; return c.x + c.y; }
INLINE T hmax(TR v) { T8 a = max(v.lo, v.hi); T4 b = max(a.lo, a.hi); T2 c = max(b.lo, b.hi); return max(c.x, c.y); }
#endif

// This work-item's share of a row of n: whole vectors first, then the ragged tail element by element.
#define ROW_CHUNKS(j, n) for (long j = (long) get_local_id(0) * ROW_VW; j + ROW_VW <= (n); j += (long) get_local_size(0) * ROW_VW)
#define ROW_TAIL(j, n) for (long j = (n) / ROW_VW * ROW_VW + get_local_id(0); j < (n); j += get_local_size(0))

#define ROW_START(p, offset, strides) ((p) + (offset) + strided_offset(get_group_id(0), kept_rank, kept_shape, strides))

// Softmax or log-softmax: the row's max, then e = exp(x - max) summed (softmax stores e, so exp runs once per
// element), then e / sum or x - max - log(sum). Max drops NaN, but a NaN still reaches every output via the sum.
__kernel void KERNEL(softmax)(int log_softmax, long n, int kept_rank, long8 kept_shape, long8 x_kept, long8 out_kept,
                              long x_stride, long out_stride,
                              __global const T* x, long x_offset, __global T* out, long out_offset, LOCAL_ARG(T, scratch)) {
    BIND_LOCAL(T, scratch);
    __global const T* in = ROW_START(x, x_offset, x_kept);
    __global T* dst = ROW_START(out, out_offset, out_kept);
    TR mv = (TR) (-INFINITY);
    ROW_CHUNKS(j, n) mv = max(mv, ROW_LOAD(in, j, x_stride));
    T m = ROW_MAX(mv);
    ROW_TAIL(j, n) m = max(m, in[j * x_stride]);
    m = group_reduce(REDUCE_MAX, m, scratch);

    TR sv = (TR) 0;
    ROW_CHUNKS(j, n) {
        TR e = exp(ROW_LOAD(in, j, x_stride) - m);
        if (!log_softmax) ROW_STORE(e, dst, j, out_stride);
        sv += e;
    }
    T s = ROW_SUM(sv);
    ROW_TAIL(j, n) {
        T e = exp(in[j * x_stride] - m);
        if (!log_softmax) dst[j * out_stride] = e;
        s += e;
    }
    s = group_reduce(REDUCE_SUM, s, scratch);

    if (log_softmax) {
        T shift = m + log(s);
        ROW_CHUNKS(j, n) ROW_STORE(ROW_LOAD(in, j, x_stride) - shift, dst, j, out_stride);
        ROW_TAIL(j, n) dst[j * out_stride] = in[j * x_stride] - shift;
    } else {
        T r = 1 / s;
        ROW_CHUNKS(j, n) ROW_STORE(ROW_LOAD(dst, j, out_stride) * r, dst, j, out_stride);
        ROW_TAIL(j, n) dst[j * out_stride] *= r;
    }
}

// A reduction (op: a REDUCE_* code) of each row into one output element. Lanes combine as reduce_combine does,
// max and min keeping a NaN (x + y is NaN when either is).
INLINE TR reduce_lanes(int op, TR acc, TR v) {
#if ROW_VW == 1
    return reduce_combine(op, acc, v);
#else
    switch (op) {
        case REDUCE_SUM: return acc + v;
        case REDUCE_PROD: return acc * v;
        case REDUCE_MAX: return select(max(acc, v), acc + v, isnan(acc) || isnan(v));
        default: return select(min(acc, v), acc + v, isnan(acc) || isnan(v));
    }
#endif
}

__kernel void KERNEL(reduce_rows)(int op, long n, int kept_rank, long8 kept_shape, long8 x_kept, long8 out_kept, long x_stride,
                                  __global const T* x, long x_offset, __global T* out, long out_offset, LOCAL_ARG(T, scratch)) {
    BIND_LOCAL(T, scratch);
    __global const T* in = ROW_START(x, x_offset, x_kept);
    TR acc = (TR) reduce_identity(op);
    ROW_CHUNKS(j, n) acc = reduce_lanes(op, acc, ROW_LOAD(in, j, x_stride));
    T lanes[ROW_VW];
    ROW_STORE(acc, lanes, 0, 1);
    T a = reduce_identity(op);
    for (int l = 0; l < ROW_VW; l++) a = reduce_combine(op, a, lanes[l]);
    ROW_TAIL(j, n) a = reduce_combine(op, a, in[j * x_stride]);
    a = group_reduce(op, a, scratch);
    if (get_local_id(0) == 0) *ROW_START(out, out_offset, out_kept) = a;
}

// Column reductions for CPU drivers: the outputs and their inputs are contiguous along the kept dimension, so each
// work-item reduces ROW_VW neighbouring outputs as one vector, walking the reduced positions in order; the
// work-item holding the ragged last block does its outputs one by one.
__kernel void KERNEL(reduce_cols)(int op, long n_out, int red_rank, long8 red_shape, long8 red_strides, long red_n,
                                  __global const T* x, long x_offset, __global T* out, long out_offset) {
    const long o0 = get_global_id(0) * ROW_VW;
    x += x_offset;
    out += out_offset;
    if (o0 + ROW_VW <= n_out) {
        TR acc = (TR) reduce_identity(op);
        for (long j = 0; j < red_n; j++) acc = reduce_lanes(op, acc, ROW_LOAD(x + strided_offset(j, red_rank, red_shape, red_strides), o0, 1));
        ROW_STORE(acc, out, o0, 1);
        return;
    }
    for (long o = o0; o < n_out; o++) {
        T a = reduce_identity(op);
        for (long j = 0; j < red_n; j++) a = reduce_combine(op, a, x[strided_offset(j, red_rank, red_shape, red_strides) + o]);
        out[o] = a;
    }
}

// Layer norm of each row: two-pass statistics (the mean, then the mean squared deviation from it), then
// (x - mean) * inv_std * weight + bias; the row's mean and inv_std are stored for the backward pass.
__kernel void KERNEL(layer_norm)(long n, T eps, int has_weight, int has_bias,
                                 int kept_rank, long8 kept_shape, long8 x_kept, long8 out_kept, long8 mean_kept, long8 inv_kept,
                                 long x_stride, long out_stride, long w_stride, long b_stride,
                                 __global const T* x, long x_offset, __global T* out, long out_offset,
                                 __global const T* weight, long w_offset, __global const T* bias, long b_offset,
                                 __global T* mean, long mean_offset, __global T* inv_std, long inv_offset, LOCAL_ARG(T, scratch)) {
    BIND_LOCAL(T, scratch);
    __global const T* in = ROW_START(x, x_offset, x_kept);
    __global T* dst = ROW_START(out, out_offset, out_kept);
    weight += w_offset;
    bias += b_offset;
    TR sv = (TR) 0;
    ROW_CHUNKS(j, n) sv += ROW_LOAD(in, j, x_stride);
    T s = ROW_SUM(sv);
    ROW_TAIL(j, n) s += in[j * x_stride];
    const T mu = group_reduce(REDUCE_SUM, s, scratch) / n;

    TR qv = (TR) 0;
    ROW_CHUNKS(j, n) {
        TR d = ROW_LOAD(in, j, x_stride) - mu;
        qv += d * d;
    }
    T q = ROW_SUM(qv);
    ROW_TAIL(j, n) {
        T d = in[j * x_stride] - mu;
        q += d * d;
    }
    const T inv = 1 / sqrt(group_reduce(REDUCE_SUM, q, scratch) / n + eps);

    ROW_CHUNKS(j, n) {
        TR y = (ROW_LOAD(in, j, x_stride) - mu) * inv;
        if (has_weight) y *= ROW_LOAD(weight, j, w_stride);
        if (has_bias) y += ROW_LOAD(bias, j, b_stride);
        ROW_STORE(y, dst, j, out_stride);
    }
    ROW_TAIL(j, n) {
        T y = (in[j * x_stride] - mu) * inv;
        if (has_weight) y *= weight[j * w_stride];
        if (has_bias) y += bias[j * b_stride];
        dst[j * out_stride] = y;
    }
    if (get_local_id(0) == 0) {
        *ROW_START(mean, mean_offset, mean_kept) = mu;
        *ROW_START(inv_std, inv_offset, inv_kept) = inv;
    }
}

// The input gradient of layer norm, row by row: with g = grad_out * weight and xhat = (x - mean) * inv_std,
// grad_in = inv_std * (g - <g> - xhat * <g xhat>), <.> the row mean.
__kernel void KERNEL(layer_norm_backward)(long n, int has_weight,
                                          int kept_rank, long8 kept_shape, long8 go_kept, long8 x_kept, long8 gi_kept,
                                          long8 mean_kept, long8 inv_kept, long go_stride, long x_stride, long gi_stride, long w_stride,
                                          __global const T* grad_out, long go_offset, __global const T* x, long x_offset,
                                          __global T* grad_in, long gi_offset, __global const T* weight, long w_offset,
                                          __global const T* mean, long mean_offset, __global const T* inv_std, long inv_offset,
                                          LOCAL_ARG(T, scratch)) {
    BIND_LOCAL(T, scratch);
    __global const T* go = ROW_START(grad_out, go_offset, go_kept);
    __global const T* in = ROW_START(x, x_offset, x_kept);
    __global T* gi = ROW_START(grad_in, gi_offset, gi_kept);
    weight += w_offset;
    const T mu = *ROW_START(mean, mean_offset, mean_kept), inv = *ROW_START(inv_std, inv_offset, inv_kept);
    TR gv = (TR) 0, gxv = (TR) 0;
    ROW_CHUNKS(j, n) {
        TR g = ROW_LOAD(go, j, go_stride);
        if (has_weight) g *= ROW_LOAD(weight, j, w_stride);
        gv += g;
        gxv += g * (ROW_LOAD(in, j, x_stride) - mu) * inv;
    }
    T sg = ROW_SUM(gv), sgx = ROW_SUM(gxv);
    ROW_TAIL(j, n) {
        T g = go[j * go_stride] * (has_weight ? weight[j * w_stride] : 1);
        sg += g;
        sgx += g * (in[j * x_stride] - mu) * inv;
    }
    const T mean_g = group_reduce(REDUCE_SUM, sg, scratch) / n, mean_gx = group_reduce(REDUCE_SUM, sgx, scratch) / n;

    ROW_CHUNKS(j, n) {
        TR g = ROW_LOAD(go, j, go_stride);
        if (has_weight) g *= ROW_LOAD(weight, j, w_stride);
        TR xhat = (ROW_LOAD(in, j, x_stride) - mu) * inv;
        ROW_STORE(inv * (g - mean_g - xhat * mean_gx), gi, j, gi_stride);
    }
    ROW_TAIL(j, n) {
        T g = go[j * go_stride] * (has_weight ? weight[j * w_stride] : 1);
        T xhat = (in[j * x_stride] - mu) * inv;
        gi[j * gi_stride] = inv * (g - mean_g - xhat * mean_gx);
    }
}

// The parameter gradients of layer norm, summing over the rows in order (no atomics): grad_weight[j] = the sum
// of grad_out * xhat, grad_bias[j] = the sum of grad_out. Each work-item owns ROW_VW neighbouring columns (one
// vector on CPU drivers; one column, with neighbouring work-items on neighbouring columns, on GPUs); the work-item
// holding the ragged last block does its columns one by one.
#define PARAM_GRADS_STEP(V, load, j)                                                                          \
    for (long r = 0; r < rows; r++) {                                                                        \
        V go = load(grad_out + go_offset + strided_offset(r, kept_rank, kept_shape, go_kept), j, go_stride);  \
        sb += go;                                                                                            \
        if (has_grad_weight)                                                                                 \
            sw += go * (load(x + x_offset + strided_offset(r, kept_rank, kept_shape, x_kept), j, x_stride)     \
                        - mean[mean_offset + strided_offset(r, kept_rank, kept_shape, mean_kept)])            \
                       * inv_std[inv_offset + strided_offset(r, kept_rank, kept_shape, inv_kept)];            \
    }
#define SCALAR_LOAD(p, j, stride) ((p)[(j) * (stride)])

__kernel void KERNEL(layer_norm_param_grads)(long n, long rows, int has_grad_weight, int has_grad_bias,
                                             int kept_rank, long8 kept_shape, long8 go_kept, long8 x_kept,
                                             long8 mean_kept, long8 inv_kept, long go_stride, long x_stride,
                                             __global const T* grad_out, long go_offset, __global const T* x, long x_offset,
                                             __global const T* mean, long mean_offset, __global const T* inv_std, long inv_offset,
                                             __global T* grad_weight, long gw_stride, long gw_offset,
                                             __global T* grad_bias, long gb_stride, long gb_offset) {
    const long j0 = get_global_id(0) * ROW_VW;
    if (j0 + ROW_VW <= n) {
        TR sw = (TR) 0, sb = (TR) 0;
        PARAM_GRADS_STEP(TR, ROW_LOAD, j0)
        if (has_grad_weight) ROW_STORE(sw, grad_weight + gw_offset, j0, gw_stride);
        if (has_grad_bias) ROW_STORE(sb, grad_bias + gb_offset, j0, gb_stride);
        return;
    }
    for (long j = j0; j < n; j++) {
        T sw = 0, sb = 0;
        PARAM_GRADS_STEP(T, SCALAR_LOAD, j)
        if (has_grad_weight) grad_weight[gw_offset + j * gw_stride] = sw;
        if (has_grad_bias) grad_bias[gb_offset + j * gb_stride] = sb;
    }
}

#endif
