package dev.kiln.testkit;

import dev.kiln.Attention;
import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.data;

/**
 * The fused scaled-dot-product attention ({@code Backend.attention} and {@code attentionBackward}, reached through
 * {@link Attention}) against a float64 reference computed here: outputs and the gradients of queries, keys and
 * values, causal or not, with and without a mask, with a key/value cache's causal offset, over shapes that span
 * several query and key tiles of a tiled kernel with odd sequence lengths and head sizes.
 */
class AttentionConformanceTest {

    /** batch, heads, queries, keys, head size, value size. */
    private record Shape(int b, int h, int sq, int sk, int d, int dv) {
        int[] q() { return new int[] {b, h, sq, d}; }
        int[] k() { return new int[] {b, h, sk, d}; }
        int[] v() { return new int[] {b, h, sk, dv}; }
        int[] out() { return new int[] {b, h, sq, dv}; }
    }

    private enum Masking { NONE, BOOL_PER_QUERY, ADDITIVE_PER_KEY }

    @BackendTest
    void fusedAttentionMatchesFloat64Reference(TestDevice device) {
        device.activate();
        Shape[] shapes = {new Shape(2, 3, 37, 37, 5, 7), new Shape(1, 2, 70, 70, 16, 16), new Shape(1, 2, 33, 81, 32, 8), new Shape(2, 1, 1, 9, 3, 4)};
        for (DType dtype : new DType[] {DType.FLOAT32, Ref.widest()}) {
            for (Shape s : shapes) {
                for (boolean causal : new boolean[] {false, true}) {
                    for (Masking masking : Masking.values()) check(dtype, s, causal, masking);
                }
            }
        }
    }

    private static void check(DType dtype, Shape s, boolean causal, Masking masking) {
        String what = "attention " + dtype + " " + s + (causal ? " causal" : "") + " mask " + masking;
        double[] q = data(1, Ref.numel(s.q()), -1.5, 1.5), k = data(2, Ref.numel(s.k()), -1.5, 1.5);
        double[] v = data(3, Ref.numel(s.v()), -1, 1), dy = data(4, Ref.numel(s.out()), -1, 1);
        double scale = 0.9 / Math.sqrt(s.d);
        // With fewer queries than keys, causal masking has the cache's offset: query i sees keys j <= i + (sk - sq).
        int offset = s.sk - s.sq;
        double[] bias = bias(s, masking);
        try (Scope scope = Scope.open()) {
            Tensor tq = Tensor.of(q, dtype, null, s.q()).requiresGrad(true);
            Tensor tk = Tensor.of(k, dtype, null, s.k()).requiresGrad(true);
            Tensor tv = Tensor.of(v, dtype, null, s.v()).requiresGrad(true);
            Tensor mask = switch (masking) {
                case NONE -> null;
                case BOOL_PER_QUERY -> {
                    boolean[] allowed = new boolean[s.sq * s.sk];
                    for (int i = 0; i < allowed.length; i++) allowed[i] = bias[i] == 0;
                    yield Tensor.of(allowed, s.sq, s.sk);
                }
                case ADDITIVE_PER_KEY -> Tensor.of(java.util.Arrays.copyOf(bias, s.sk), dtype, null, s.sk);
            };
            Attention.Options options = Attention.Options.defaults().withScale(scale).withCausal(causal);
            Tensor y = causal && offset > 0
                    ? Attention.attention(tq, tk.narrow(2, offset, s.sq), tv.narrow(2, offset, s.sq), mask, tk.narrow(2, 0, offset),
                            tv.narrow(2, 0, offset), options, null).output()
                    : Attention.scaledDotProduct(tq, tk, tv, mask, options);
            y.backward(Tensor.of(dy, dtype, null, s.out()));
            double[][] ref = reference(s, q, k, v, dy, bias, scale, causal ? offset : -1);
            double rtol = dtype == DType.FLOAT64 ? 1e-9 : 2e-4, atol = dtype == DType.FLOAT64 ? 1e-10 : 2e-5;
            assertClose(ref[0], y, rtol, atol, what + ": output");
            assertClose(ref[1], tq.grad(), rtol, atol, what + ": query gradient");
            assertClose(ref[2], tk.grad(), rtol, atol, what + ": key gradient");
            assertClose(ref[3], tv.grad(), rtol, atol, what + ": value gradient");
        }
    }

    /**
     * (sq, sk) additive bias, 0 or -inf (the reference's mask): per query, a pattern that hides whole rows on some
     * queries; per key, every third key hidden, broadcast over the queries.
     */
    private static double[] bias(Shape s, Masking masking) {
        double[] bias = new double[s.sq * s.sk];
        for (int i = 0; i < s.sq; i++) {
            for (int j = 0; j < s.sk; j++) {
                boolean hidden = switch (masking) {
                    case NONE -> false;
                    case BOOL_PER_QUERY -> i % 5 == 2 || (i + 2 * j) % 7 == 0;
                    case ADDITIVE_PER_KEY -> j % 3 == 1;
                };
                bias[i * s.sk + j] = hidden ? Double.NEGATIVE_INFINITY : 0;
            }
        }
        return bias;
    }

    /**
     * {output, dq, dk, dv} in float64: softmax over visible keys (j <= i + offset when offset >= 0, and bias not
     * -inf), a query with no visible key giving 0 and no gradient.
     */
    private static double[][] reference(Shape s, double[] q, double[] k, double[] v, double[] dy, double[] bias, double scale, int offset) {
        double[] y = new double[Ref.numel(s.out())], dq = new double[q.length], dk = new double[k.length], dv = new double[v.length];
        double[] p = new double[s.sk], dp = new double[s.sk];
        for (int bh = 0; bh < s.b * s.h; bh++) {
            int qb = bh * s.sq * s.d, kb = bh * s.sk * s.d, vb = bh * s.sk * s.dv, yb = bh * s.sq * s.dv;
            for (int i = 0; i < s.sq; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < s.sk; j++) {
                    double dot = 0;
                    for (int c = 0; c < s.d; c++) dot += q[qb + i * s.d + c] * k[kb + j * s.d + c];
                    boolean visible = (offset < 0 || j <= i + offset) && bias[i * s.sk + j] == 0;
                    p[j] = visible ? dot * scale : Double.NEGATIVE_INFINITY;
                    max = Math.max(max, p[j]);
                }
                if (max == Double.NEGATIVE_INFINITY) continue;
                double sum = 0;
                for (int j = 0; j < s.sk; j++) sum += p[j] = Math.exp(p[j] - max);
                double rowDot = 0;
                for (int j = 0; j < s.sk; j++) {
                    p[j] /= sum;
                    dp[j] = 0;
                    for (int c = 0; c < s.dv; c++) {
                        y[yb + i * s.dv + c] += p[j] * v[vb + j * s.dv + c];
                        dp[j] += dy[yb + i * s.dv + c] * v[vb + j * s.dv + c];
                        dv[vb + j * s.dv + c] += p[j] * dy[yb + i * s.dv + c];
                    }
                    rowDot += p[j] * dp[j];
                }
                for (int j = 0; j < s.sk; j++) {
                    double ds = p[j] * (dp[j] - rowDot) * scale;
                    for (int c = 0; c < s.d; c++) {
                        dq[qb + i * s.d + c] += ds * k[kb + j * s.d + c];
                        dk[kb + j * s.d + c] += ds * q[qb + i * s.d + c];
                    }
                }
            }
        }
        return new double[][] {y, dq, dk, dv};
    }
}
