package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.kiln.nn.Check.close;
import static dev.kiln.nn.Check.data;
import static dev.kiln.nn.Check.f64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** MultiheadAttention against a plain-Java reference with PyTorch's parameters and masks, its key/value cache, and gradients. */
class AttentionModulesTest {

    /** (rows, in) times W^T (out, in) plus b, in plain Java; wOffset picks rows of a stacked weight. */
    private static double[] linear(double[] x, int rows, int in, double[] w, double[] b, int out, int rowOffset) {
        double[] y = new double[rows * out];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < out; o++) {
                double acc = b == null ? 0 : b[rowOffset + o];
                for (int k = 0; k < in; k++) acc += x[r * in + k] * w[(rowOffset + o) * in + k];
                y[r * out + o] = acc;
            }
        return y;
    }

    /**
     * PyTorch's multi-head attention in plain Java, time-major: query (L, B, E), key and value (S, B, E).
     * keyPadding (B, S): true = ignore. attnMask (L, S): added. Returns (L, B, E).
     */
    private static double[] reference(MultiheadAttention m, double[] query, double[] key, double[] value, int qLen, int kLen, int batch,
                                      boolean[] keyPadding, double[] attnMask, boolean causal) {
        return reference(m, query, key, value, qLen, kLen, batch, keyPadding, attnMask, causal, false);
    }

    /**
     * With {@code bias_k}/{@code bias_v} parameters, they are one more key and value row after the projections;
     * with {@code zeroAttn}, a row of zeros after that. Neither extra key is masked.
     */
    private static double[] reference(MultiheadAttention m, double[] query, double[] key, double[] value, int qLen, int userKeys, int batch,
                                      boolean[] keyPadding, double[] attnMask, boolean causal, boolean zeroAttn) {
        int e = m.embedDim(), heads = m.numHeads(), hd = e / heads;
        Map<String, Tensor> p = m.namedParameters();
        double[] w = p.get("in_proj_weight").toDoubleArray(), b = p.get("in_proj_bias").toDoubleArray();
        double[] q = linear(query, qLen * batch, e, w, b, e, 0);
        double[] k = linear(key, userKeys * batch, e, w, b, e, e), v = linear(value, userKeys * batch, e, w, b, e, 2 * e);
        int kLen = userKeys + (p.containsKey("bias_k") ? 1 : 0) + (zeroAttn ? 1 : 0);
        k = java.util.Arrays.copyOf(k, kLen * batch * e);
        v = java.util.Arrays.copyOf(v, kLen * batch * e);
        if (p.containsKey("bias_k")) {
            double[] bk = p.get("bias_k").toDoubleArray(), bv = p.get("bias_v").toDoubleArray();
            for (int bi = 0; bi < batch; bi++) {
                System.arraycopy(bk, 0, k, (userKeys * batch + bi) * e, e);
                System.arraycopy(bv, 0, v, (userKeys * batch + bi) * e, e);
            }
        }
        double[] ctx = new double[qLen * batch * e];
        for (int bi = 0; bi < batch; bi++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < qLen; i++) {
                    double[] s = new double[kLen];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < kLen; j++) {
                        double dot = 0;
                        for (int d = 0; d < hd; d++) dot += q[(i * batch + bi) * e + h * hd + d] * k[(j * batch + bi) * e + h * hd + d];
                        boolean user = j < userKeys;
                        s[j] = dot / Math.sqrt(hd) + (attnMask == null || !user ? 0 : attnMask[i * userKeys + j]);
                        if (user && (keyPadding != null && keyPadding[bi * userKeys + j] || causal && j > i)) s[j] = Double.NEGATIVE_INFINITY;
                        max = Math.max(max, s[j]);
                    }
                    double z = 0;
                    for (int j = 0; j < kLen; j++) z += Math.exp(s[j] - max);
                    for (int j = 0; j < kLen; j++)
                        for (int d = 0; d < hd; d++) ctx[(i * batch + bi) * e + h * hd + d] += Math.exp(s[j] - max) / z * v[(j * batch + bi) * e + h * hd + d];
                }
        return linear(ctx, qLen * batch, e, p.get("out_proj.weight").toDoubleArray(), p.get("out_proj.bias").toDoubleArray(), e, 0);
    }

    /** Non-zero biases, so the reference checks them too (PyTorch initialises them to zero). */
    private static MultiheadAttention withRandomBiases(MultiheadAttention m, long seed) {
        dev.kiln.testkit.TestDevice.requireFloat64();
        m.to(DType.FLOAT64);
        Map<String, Tensor> p = m.namedParameters();
        try (GradMode g = GradMode.noGrad()) {
            p.get("in_proj_bias").copy_(f64(data(seed, 3 * m.embedDim(), -1, 1), 3 * m.embedDim()));
            p.get("out_proj.bias").copy_(f64(data(seed + 1, m.embedDim(), -1, 1), m.embedDim()));
        }
        return m;
    }

    @Test
    void crossAttentionWithPaddingAndAdditiveMasksMatchesTheReference() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(21);
            int e = 4, heads = 2, qLen = 3, kLen = 4, batch = 2;
            MultiheadAttention mha = withRandomBiases(new MultiheadAttention(e, heads), 30);
            assertEquals(List.of("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"), List.copyOf(mha.namedParameters().keySet()));
            double[] q = data(1, qLen * batch * e, -1, 1), k = data(2, kLen * batch * e, -1, 1), v = data(3, kLen * batch * e, -1, 1);
            boolean[] pad = {false, false, false, true, false, true, false, false};
            double[] add = data(4, qLen * kLen, -1, 1);
            MultiheadAttention.Output got = mha.forward(f64(q, qLen, batch, e), f64(k, kLen, batch, e), f64(v, kLen, batch, e),
                    MultiheadAttention.Options.none().withKeyPaddingMask(Tensor.of(pad, batch, kLen)).withAttnMask(f64(add, qLen, kLen)).withWeights(true));
            close(reference(mha, q, k, v, qLen, kLen, batch, pad, add, false), got.output().toDoubleArray(), 1e-12, "masked cross-attention");
            Check.assertShape(new int[] {batch, qLen, kLen}, got.weights());
            double[] w = got.weights().toDoubleArray();
            for (int row = 0; row < batch * qLen; row++) {
                double sum = 0;
                for (int j = 0; j < kLen; j++) sum += w[row * kLen + j];
                close(1, sum, 1e-12, "averaged weights sum to one");
            }
            close(0, w[3], 0, "a padded key gets no weight");
            // A boolean attention mask is true where attention is NOT allowed; per head (B*heads, L, S) masks work too.
            boolean[] future = new boolean[batch * heads * qLen * qLen];
            for (int n = 0; n < batch * heads; n++)
                for (int i = 0; i < qLen; i++)
                    for (int j = i + 1; j < qLen; j++) future[(n * qLen + i) * qLen + j] = true;
            Tensor x = f64(q, qLen, batch, e);
            double[] causalRef = reference(mha, q, q, q, qLen, qLen, batch, null, null, true);
            close(causalRef, mha.forward(x, x, x, MultiheadAttention.Options.none().withAttnMask(Tensor.of(future, batch * heads, qLen, qLen))).output().toDoubleArray(),
                    1e-12, "boolean per-head mask");
            close(causalRef, mha.forward(x, x, x, MultiheadAttention.Options.none().withCausal(true)).output().toDoubleArray(), 1e-12, "causal flag");
            close(causalRef, mha.forward(x, x, x, MultiheadAttention.Options.none().withAttnMask(Transformer.generateSquareSubsequentMask(qLen))).output()
                    .toDoubleArray(), 1e-12, "generateSquareSubsequentMask");
            assertThrows(IllegalArgumentException.class, () -> mha.forward(x, x, x, MultiheadAttention.Options.none().withAttnMask(Tensor.zeros(2, 2))));
        }
    }

    @Test
    void biasKeysAndZeroAttentionAreExtraUnmaskedKeys() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(24);
            int e = 4, heads = 2, qLen = 3, kLen = 4, batch = 2;
            double[] q = data(1, qLen * batch * e, -1, 1), k = data(2, kLen * batch * e, -1, 1), v = data(3, kLen * batch * e, -1, 1);
            boolean[] pad = {false, false, false, true, false, true, false, false};
            double[] add = data(4, qLen * kLen, -1, 1);
            for (boolean[] flags : new boolean[][] {{true, false}, {false, true}, {true, true}}) {
                MultiheadAttention mha = withRandomBiases(new MultiheadAttention(e, heads, 0, true, flags[0], flags[1], e, e, false), 33);
                if (flags[0]) {
                    assertEquals(List.of("in_proj_weight", "in_proj_bias", "bias_k", "bias_v", "out_proj.weight", "out_proj.bias"),
                            List.copyOf(mha.namedParameters().keySet()));
                    Check.assertShape(new int[] {1, 1, e}, mha.namedParameters().get("bias_k"));
                }
                MultiheadAttention.Options masks = MultiheadAttention.Options.none().withKeyPaddingMask(Tensor.of(pad, batch, kLen)).withAttnMask(f64(add, qLen, kLen));
                Tensor got = mha.forward(f64(q, qLen, batch, e), f64(k, kLen, batch, e), f64(v, kLen, batch, e), masks).output();
                close(reference(mha, q, k, v, qLen, kLen, batch, pad, add, false, flags[1]), got.toDoubleArray(), 1e-12,
                        "add_bias_kv=" + flags[0] + " add_zero_attn=" + flags[1]);
                Tensor x = f64(q, qLen, batch, e);
                assertThrows(IllegalArgumentException.class, () -> mha.forward(x, x, x, MultiheadAttention.Options.none().withCausal(true)));
            }
            MultiheadAttention both = new MultiheadAttention(e, heads, 0, true, true, true, e, e, false);
            Check.moduleGrads("add_bias_kv + add_zero_attn", both, f64(q, qLen, batch, e).requiresGrad(true), t -> both.forward(t, t, t));
        }
    }

    @Test
    void unbatchedInputsEqualABatchOfOne() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(23);
            int e = 4, heads = 2, qLen = 3, kLen = 5;
            for (boolean batchFirst : new boolean[] {false, true}) {
                MultiheadAttention mha = withRandomBiases(new MultiheadAttention(e, heads, 0, true, e, e, batchFirst), 32);
                Tensor q = f64(data(5, qLen * e, -1, 1), qLen, e), k = f64(data(6, kLen * e, -1, 1), kLen, e), v = f64(data(7, kLen * e, -1, 1), kLen, e);
                Tensor pad = Tensor.of(new boolean[] {false, true, false, false, true});
                int b = batchFirst ? 0 : 1;
                MultiheadAttention.Output one = mha.forward(q, k, v, MultiheadAttention.Options.none().withKeyPaddingMask(pad).withWeights(false));
                MultiheadAttention.Output batched = mha.forward(q.unsqueeze(b), k.unsqueeze(b), v.unsqueeze(b),
                        MultiheadAttention.Options.none().withKeyPaddingMask(pad.unsqueeze(0)).withWeights(false));
                Check.assertShape(new int[] {qLen, e}, one.output());
                Check.assertShape(new int[] {heads, qLen, kLen}, one.weights());
                close(batched.output().toDoubleArray(), one.output().toDoubleArray(), 0, "output, batchFirst=" + batchFirst);
                close(batched.weights().toDoubleArray(), one.weights().toDoubleArray(), 0, "per-head weights");
                Check.assertShape(new int[] {qLen, kLen}, mha.forward(q, k, v, MultiheadAttention.Options.none().withWeights(true)).weights());
                assertThrows(IllegalArgumentException.class, () -> mha.forward(q, k, v, MultiheadAttention.Options.none().withKeyPaddingMask(pad.unsqueeze(0))));
            }
        }
    }

    @Test
    void separateKeyAndValueSizesUseSeparateProjections() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(22);
            MultiheadAttention mha = new MultiheadAttention(4, 2, 0, true, 3, 5, true);
            assertEquals(List.of("q_proj_weight", "k_proj_weight", "v_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"),
                    List.copyOf(mha.namedParameters().keySet()));
            Check.assertShape(new int[] {4, 3}, mha.namedParameters().get("k_proj_weight"));
            Check.assertShape(new int[] {2, 6, 4}, mha.forward(Tensor.randn(2, 6, 4), Tensor.randn(2, 7, 3), Tensor.randn(2, 7, 5)));
        }
    }

    @Test
    void keyValueCacheStepByStepEqualsCausalAttentionOverTheWholeSequence() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(23);
            int e = 6, heads = 3, len = 5, batch = 2;
            MultiheadAttention mha = withRandomBiases(new MultiheadAttention(e, heads, 0, true, e, e, true), 31);
            Tensor x = f64(data(5, batch * len * e, -1, 1), batch, len, e);
            double[] full = mha.forward(x, x, x, MultiheadAttention.Options.none().withCausal(true)).output().toDoubleArray();
            try (MultiheadAttention.KVCache cache = new MultiheadAttention.KVCache()) {
                for (int t = 0; t < len; t++) {
                    Tensor step = x.narrow(1, t, 1);
                    double[] got = mha.forward(step, step, step, MultiheadAttention.Options.none().withCausal(true).withCache(cache)).output().toDoubleArray();
                    assertEquals(t + 1, cache.length());
                    for (int b = 0; b < batch; b++) {
                        int at = (b * len + t) * e;
                        close(java.util.Arrays.copyOfRange(full, at, at + e), java.util.Arrays.copyOfRange(got, b * e, (b + 1) * e), 1e-12,
                                "step " + t + " batch " + b);
                    }
                }
            }
        }
    }

    @Test
    void gradientsReachInputsAndEveryProjectionThroughMasksAndDropout() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(24);
            MultiheadAttention mha = new MultiheadAttention(4, 2, 0.25, true, 4, 4, false);
            Tensor pad = Tensor.of(new boolean[] {false, false, true, false, false, false}, 2, 3);
            mha.train();
            Check.moduleGrads("attention with dropout and padding", mha, f64(data(6, 3 * 2 * 4, -1, 1), 3, 2, 4).requiresGrad(true),
                    x -> mha.forward(x, x, x, MultiheadAttention.Options.none().withKeyPaddingMask(pad).withCausal(true)).output());
        }
    }
}
