package dev.kiln.backend;

import dev.kiln.DType;

/**
 * Scaled dot-product attention composed from a backend's primitives: the (B, H, Sq, Sk) scores are materialised,
 * as a backend without a fused kernel would do anyway. The row statistic {@code logSumExp} is what lets a fused
 * forward pass and this backward pass (or the other way round) meet: {@code P = exp(S - logSumExp)}.
 */
final class AttentionDefaults {
    private AttentionDefaults() {}

    static void attention(Backend be, View q, View k, View v, View bias, AttentionSpec spec, View out, View logSumExp) {
        View s = scores(be, q, k, bias, spec);
        View p = be.allocateView(s.dtype(), s.shape());
        View max = be.allocateView(s.dtype(), rowShape(s));
        View sum = be.allocateView(s.dtype(), rowShape(s));
        View blind = be.allocateView(DType.BOOL, rowShape(s));
        View inf = be.allocateView(s.dtype(), 1);
        try {
            be.reduce(ReduceOp.MAX, s, new int[] {3}, max);
            be.binary(BinaryOp.SUB, s, acrossKeys(max, s), p);
            be.unary(UnaryOp.EXP, 0, p, p);
            be.reduce(ReduceOp.SUM, p, new int[] {3}, sum);
            be.unary(UnaryOp.LOG, 0, sum, sum);
            be.binary(BinaryOp.ADD, max, sum, sum);
            // A query that sees no key gets +inf, so exp(S - logSumExp) is 0 on its row, forward and backward.
            be.binaryScalar(BinaryOp.EQ, max, Double.NEGATIVE_INFINITY, false, blind);
            be.fill(inf, Double.POSITIVE_INFINITY);
            View lse = asColumn(logSumExp);
            be.where(blind, inf.withShape(rowShape(s), new long[4], 0), sum, lse);
            probabilities(be, s, lse);
            be.matmul(s, v, out);
        } finally {
            for (View t : new View[] {s, p, max, sum, blind, inf}) be.release(t.buffer());
        }
    }

    static void attentionBackward(Backend be, View gradOut, View q, View k, View v, View bias, AttentionSpec spec, View out,
                                  View logSumExp, View gradQuery, View gradKey, View gradValue) {
        View p = scores(be, q, k, bias, spec);
        View ds = be.allocateView(p.dtype(), p.shape());
        View weighted = be.allocateView(out.dtype(), out.shape());
        View rowDot = be.allocateView(out.dtype(), rowShape(p));
        try {
            probabilities(be, p, asColumn(logSumExp));
            if (gradValue != null) be.matmul(transposed(p), gradOut, gradValue);
            if (gradQuery == null && gradKey == null) return;
            // dS = P * (dO V^T - rowsum(dO * O)): the softmax's gradient without the (Sk x Sk) Jacobian.
            be.matmul(gradOut, transposed(v), ds);
            be.binary(BinaryOp.MUL, gradOut, out, weighted);
            be.reduce(ReduceOp.SUM, weighted, new int[] {3}, rowDot);
            be.binary(BinaryOp.SUB, ds, acrossKeys(rowDot, ds), ds);
            be.binary(BinaryOp.MUL, ds, p, ds);
            if (gradQuery != null) {
                be.matmul(ds, k, gradQuery);
                be.binaryScalar(BinaryOp.MUL, gradQuery, spec.scale(), false, gradQuery);
            }
            if (gradKey != null) {
                be.matmul(transposed(ds), q, gradKey);
                be.binaryScalar(BinaryOp.MUL, gradKey, spec.scale(), false, gradKey);
            }
        } finally {
            for (View t : new View[] {p, ds, weighted, rowDot}) be.release(t.buffer());
        }
    }

    /** {@code q @ k^T * scale + bias}, causally hidden keys at -inf, in a new (B, H, Sq, Sk) buffer. */
    private static View scores(Backend be, View q, View k, View bias, AttentionSpec spec) {
        int[] qs = q.shape();
        int keys = k.shape()[2];
        View s = be.allocateView(q.dtype(), qs[0], qs[1], qs[2], keys);
        be.matmul(q, transposed(k), s);
        be.binaryScalar(BinaryOp.MUL, s, spec.scale(), false, s);
        if (bias != null) be.binary(BinaryOp.ADD, s, bias, s);
        if (spec.causal()) hideLaterKeys(be, s, spec.causalOffset());
        return s;
    }

    /** Sets s[..., i, j] to -inf where j > i + offset, from two index sequences and one broadcast compare. */
    private static void hideLaterKeys(Backend be, View s, int offset) {
        int queries = s.shape()[2], keys = s.shape()[3];
        View rows = be.allocateView(DType.INT64, queries, 1);
        View cols = be.allocateView(DType.INT64, 1, keys);
        View hidden = be.allocateView(DType.BOOL, queries, keys);
        View minusInf = be.allocateView(s.dtype(), 1);
        try {
            be.arange(offset, 1, rows);
            be.arange(0, 1, cols);
            int[] square = {queries, keys};
            be.binary(BinaryOp.GT, cols.withShape(square, new long[] {0, 1}, 0), rows.withShape(square, new long[] {1, 0}, 0), hidden);
            be.fill(minusInf, Double.NEGATIVE_INFINITY);
            int[] shape = s.shape();
            be.where(hidden.withShape(shape, new long[] {0, 0, keys, 1}, 0), minusInf.withShape(shape, new long[4], 0), s, s);
        } finally {
            for (View t : new View[] {rows, cols, hidden, minusInf}) be.release(t.buffer());
        }
    }

    /** Turns the scores into probabilities in place: {@code exp(S - logSumExp)}. */
    private static void probabilities(Backend be, View s, View logSumExpColumn) {
        be.binary(BinaryOp.SUB, s, acrossKeys(logSumExpColumn, s), s);
        be.unary(UnaryOp.EXP, 0, s, s);
    }

    private static int[] rowShape(View s) {
        int[] r = s.shape().clone();
        r[3] = 1;
        return r;
    }

    /** (B, H, Sq) as (B, H, Sq, 1). */
    private static View asColumn(View rows) {
        long[] st = rows.strides();
        int[] sh = rows.shape();
        return rows.withShape(new int[] {sh[0], sh[1], sh[2], 1}, new long[] {st[0], st[1], st[2], 0}, rows.offset());
    }

    /** A (B, H, Sq, 1) view repeated over the keys of {@code like}. */
    private static View acrossKeys(View column, View like) {
        long[] st = column.strides().clone();
        st[3] = 0;
        return column.withShape(like.shape().clone(), st, column.offset());
    }

    private static View transposed(View m) {
        int[] sh = m.shape().clone();
        long[] st = m.strides().clone();
        int t = sh[2];
        sh[2] = sh[3];
        sh[3] = t;
        long u = st[2];
        st[2] = st[3];
        st[3] = u;
        return m.withShape(sh, st, m.offset());
    }
}
