package dev.kiln;

import dev.kiln.backend.AttentionSpec;
import dev.kiln.backend.Backend;
import dev.kiln.backend.View;

import java.lang.ref.Reference;
import java.util.List;

/**
 * Scaled dot-product attention with the options of ONNX's Attention operator (opset 23) and of PyTorch's
 * {@code scaled_dot_product_attention}: grouped-query heads, boolean or additive masks, causal masking, tanh
 * soft-capping of the scores and a key/value cache. Composed from differentiable tensor ops, so gradients reach
 * queries, keys, values, caches and additive masks.
 *
 * <p>Shapes: query (B, Hq, Sq, D), key (B, Hkv, Skv, D), value (B, Hkv, Skv, Dv), where Hq is a multiple of Hkv
 * and query head h reads key/value head h / (Hq / Hkv) (PyTorch's {@code enable_gqa}). The result is
 * (B, Hq, Sq, Dv). For (B, S, H*D) layouts, see {@link #splitHeads} and {@link #mergeHeads}.
 *
 * <p>The scores go through, in order: {@code (q @ k^T) * scale} ({@link Scores#SCALED}); soft-capping
 * {@code softcap * tanh(s / softcap)} when softcap > 0 ({@link Scores#SOFTCAPPED}); the mask and causal bias
 * added ({@link Scores#MASKED}); softmax over keys ({@link Scores#PROBABILITIES}). A query row whose keys are all
 * masked attends to nothing: its probabilities and output are 0 rather than NaN.
 */
public final class Attention {
    private Attention() {}

    /** The stage of the scores that {@link #attention} returns beside the output. */
    public enum Scores {
        /** {@code (q @ k^T) * scale}. */
        SCALED,
        /** After soft-capping. */
        SOFTCAPPED,
        /** After the mask and causal bias. */
        MASKED,
        /** After the softmax over keys. */
        PROBABILITIES
    }

    /**
     * {@code scale}: the factor on q @ k^T, NaN for 1/sqrt(D). {@code causal}: query i sees keys {@code j <= i + P}, P the
     * past key length (0 without a cache); this adds to any mask. {@code softcap}: 0 for none.
     *
     * @param scale the factor on the scores, NaN for 1/sqrt(head size)
     * @param causal whether each query ignores later keys
     * @param softcap the soft-capping bound, 0 for none
     */
    public record Options(double scale, boolean causal, double softcap) {
        /**
         * Checks the settings.
         *
         * @throws IllegalArgumentException if softcap is negative
         */
        public Options {
            if (softcap < 0) throw new IllegalArgumentException("attention: softcap must be >= 0 (0 for none), got " + softcap);
        }

        /**
         * {@return the usual attention: 1/sqrt(head size), not causal, no soft-capping}
         */
        public static Options defaults() { return new Options(Double.NaN, false, 0); }

        /**
         * With another scale.
         *
         * @param s the factor, NaN for 1/sqrt(head size)
         * @return these options with that change
         */
        public Options withScale(double s) { return new Options(s, causal, softcap); }

        /**
         * Causal or not.
         *
         * @param c whether each query ignores later keys
         * @return these options with that change
         */
        public Options withCausal(boolean c) { return new Options(scale, c, softcap); }

        /**
         * With soft-capping.
         *
         * @param c the bound, 0 for none
         * @return these options with that change
         */
        public Options withSoftcap(double c) { return new Options(scale, causal, c); }
    }

    /**
     * The attention output, the keys and values after the cache (the "present" cache), and the requested scores.
     *
     * @param output the attention output (B, Hq, Sq, Dv)
     * @param key the keys after the cache
     * @param value the values after the cache
     * @param scores the requested stage of the scores, or null
     */
    public record Output(Tensor output, Tensor key, Tensor value, Tensor scores) {}

    /**
     * Attention of query over key/value. {@code mask}: null, bool (true = may attend) or additive floating values,
     * broadcastable to (B, Hq, Sq, total keys); a mask shorter than the keys is extended with masked positions.
     *
     * @param query the queries (B, Hq, Sq, D)
     * @param key the keys (B, Hkv, Sk, D)
     * @param value the values (B, Hkv, Sk, Dv)
     * @param mask the mask, or null
     * @param options scale, causality and soft-capping
     * @return the output (B, Hq, Sq, Dv)
     */
    public static Tensor scaledDotProduct(Tensor query, Tensor key, Tensor value, Tensor mask, Options options) {
        Output out = attention(query, key, value, mask, null, null, options, null);
        return out.output();
    }

    /**
     * Attention with a key/value cache: {@code pastKey} (B, Hkv, P, D) and {@code pastValue} (B, Hkv, P, Dv), both null
     * or both present, are prepended to key and value. {@code scores} names the stage of scores to return (or null).
     *
     * @param query the queries (B, Hq, Sq, D)
     * @param key the new keys (B, Hkv, Sk, D)
     * @param value the new values (B, Hkv, Sk, Dv)
     * @param mask the mask, or null
     * @param pastKey cached keys, or null
     * @param pastValue cached values, or null
     * @param options scale, causality and soft-capping
     * @param scores the stage of the scores to return, or null
     * @return the output, the keys and values after the cache, and the scores asked for
     * @throws IllegalArgumentException if the shapes do not fit
     */
    public static Output attention(Tensor query, Tensor key, Tensor value, Tensor mask, Tensor pastKey, Tensor pastValue,
                                   Options options, Scores scores) {
        if (query.dim() != 4 || key.dim() != 4 || value.dim() != 4)
            throw new IllegalArgumentException("attention: query, key and value must be 4-D (batch, heads, sequence, head size), got "
                    + Elementwise.describe(query) + ", " + Elementwise.describe(key) + ", " + Elementwise.describe(value));
        if ((pastKey == null) != (pastValue == null))
            throw new IllegalArgumentException("attention: pass both pastKey and pastValue, or neither");
        int batch = query.size(0), qHeads = query.size(1), qLen = query.size(2), headSize = query.size(3), kvHeads = key.size(1);
        if (key.size(0) != batch || value.size(0) != batch || key.size(3) != headSize || value.size(1) != kvHeads || value.size(2) != key.size(2)
                || kvHeads == 0 || qHeads % kvHeads != 0)
            throw new IllegalArgumentException("attention: query " + Elementwise.describe(query) + ", key " + Elementwise.describe(key) + " and value "
                    + Elementwise.describe(value) + " do not fit (batch, heads, sequence, head size) with query heads a multiple of key/value heads");
        int past = pastKey == null ? 0 : pastKey.size(2);
        try (Scope scope = Scope.open()) {
            Tensor k = pastKey == null ? key : Tensor.cat(List.of(pastKey, key), 2);
            Tensor v = pastValue == null ? value : Tensor.cat(List.of(pastValue, value), 2);
            int kvLen = k.size(2);
            Tensor kq = repeatHeads(k, qHeads / kvHeads), vq = repeatHeads(v, qHeads / kvHeads);
            double scale = Double.isNaN(options.scale()) ? 1 / Math.sqrt(headSize) : options.scale();
            if (fuses(query, kq, vq, mask, options, scores)) {
                Tensor b = bias(mask, false, past, qLen, kvLen, query);
                Tensor y = fused(query, kq, vq, b == null ? null : b.expand(batch, qHeads, qLen, kvLen),
                        new AttentionSpec(scale, options.causal(), past));
                return new Output(scope.keep(y), scope.keep(k.contiguous()), scope.keep(v.contiguous()), null);
            }
            Tensor s = query.mul(scale).matmul(kq.mT());
            Tensor scaled = s;
            if (options.softcap() > 0) s = s.div(options.softcap()).tanh().mul(options.softcap());
            Tensor softcapped = s;
            Tensor bias = bias(mask, options.causal(), past, qLen, kvLen, query);
            Tensor probabilities;
            if (bias == null) {
                probabilities = s.softmax(-1);
            } else if (mask == null && kvLen > 0) {
                // Causal alone always leaves key 0 to every query: no row is fully masked, and no guard is needed.
                s = s.add(bias);
                probabilities = s.softmax(-1);
            } else {
                s = s.add(bias);
                // Rows with every key masked would be 0/0: give them zero weight, keeping gradients finite.
                Tensor blind = s.amax(new int[] {-1}, true).eq(Double.NEGATIVE_INFINITY);
                Tensor p = Tensor.where(blind, Tensor.zerosLike(s), s).softmax(-1);
                probabilities = Tensor.where(blind, Tensor.zerosLike(p), p);
            }
            Tensor y = probabilities.matmul(vq);
            Tensor returned = scores == null ? null : switch (scores) {
                case SCALED -> scaled;
                case SOFTCAPPED -> softcapped;
                case MASKED -> s;
                case PROBABILITIES -> probabilities;
            };
            return new Output(scope.keep(y), scope.keep(k.contiguous()), scope.keep(v.contiguous()), returned == null ? null : scope.keep(returned.contiguous()));
        }
    }

    /**
     * Whether the backend's fused attention computes this call: no soft-capping, no scores asked for, no gradient
     * wanted for the mask (the fused backward gives none), one float32 or float64 dtype on one device, nothing empty.
     */
    private static boolean fuses(Tensor q, Tensor k, Tensor v, Tensor mask, Options options, Scores scores) {
        DType t = q.dtype();
        return options.softcap() == 0 && scores == null && (mask == null || !mask.requiresGrad())
                && (t == DType.FLOAT32 || t == DType.FLOAT64) && k.dtype() == t && v.dtype() == t
                && k.device().equals(q.device()) && v.device().equals(q.device()) && (mask == null || mask.device().equals(q.device()))
                && q.numel() > 0 && k.numel() > 0 && v.numel() > 0;
    }

    /**
     * One node: {@link Backend#attention} forward, {@link Backend#attentionBackward} from the output and its row
     * log-sum-exp backward, so no (Sq x Sk) matrix is kept between the passes.
     */
    private static Tensor fused(Tensor q, Tensor k, Tensor v, Tensor bias, AttentionSpec spec) {
        Backend be = q.backend();
        int[] outShape = {q.size(0), q.size(1), q.size(2), v.size(3)};
        Tensor out = Tensor.allocate(be, q.dtype(), outShape);
        Tensor logSumExp = Tensor.allocate(be, q.dtype(), q.size(0), q.size(1), q.size(2));
        be.attention(q.view, k.view, v.view, bias == null ? null : bias.view, spec, out.view, logSumExp.view);
        Reference.reachabilityFence(new Object[] {q, k, v, bias});
        return Autograd.record("scaled_dot_product_attention", out, new Tensor[] {q, k, v}, g -> {
            Tensor gq = q.requiresGrad() ? Tensor.allocate(be, q.dtype(), q.shape()) : null;
            Tensor gk = k.requiresGrad() ? Tensor.allocate(be, k.dtype(), k.shape()) : null;
            Tensor gv = v.requiresGrad() ? Tensor.allocate(be, v.dtype(), v.shape()) : null;
            Tensor gc = g.dtype() == q.dtype() ? g : g.to(q.dtype());
            be.attentionBackward(gc.view, q.view, k.view, v.view, bias == null ? null : bias.view, spec, out.view, logSumExp.view,
                    view(gq), view(gk), view(gv));
            Reference.reachabilityFence(new Object[] {gc, q, k, v, bias, out, logSumExp});
            return new Tensor[] {gq, gk, gv};
        }, out, logSumExp, bias);
    }

    private static View view(Tensor t) { return t == null ? null : t.view; }

    /**
     * (B, S, H*D) to (B, H, S, D).
     *
     * @param x the sequence (B, S, H*D)
     * @param heads the number of heads H
     * @return a view (B, H, S, D)
     * @throws IllegalArgumentException if x is not 3-D or its width is not a multiple of heads
     */
    public static Tensor splitHeads(Tensor x, int heads) {
        if (x.dim() != 3 || heads <= 0 || x.size(2) % heads != 0)
            throw new IllegalArgumentException("splitHeads: expected (batch, sequence, heads*head size) divisible by " + heads + " heads, got " + Elementwise.describe(x));
        return x.reshape(x.size(0), x.size(1), heads, x.size(2) / heads).transpose(1, 2);
    }

    /**
     * (B, H, S, D) to (B, S, H*D).
     *
     * @param x the heads (B, H, S, D)
     * @return the sequence (B, S, H*D)
     * @throws IllegalArgumentException if x is not 4-D
     */
    public static Tensor mergeHeads(Tensor x) {
        if (x.dim() != 4) throw new IllegalArgumentException("mergeHeads: expected (batch, heads, sequence, head size), got " + Elementwise.describe(x));
        return x.transpose(1, 2).reshape(x.size(0), x.size(2), x.size(1) * x.size(3));
    }

    /** Each key/value head repeated for the query heads that share it: head h becomes heads h*reps .. h*reps+reps-1. */
    private static Tensor repeatHeads(Tensor t, int reps) {
        if (reps == 1) return t;
        int[] s = t.shape();
        return t.unsqueeze(2).expand(s[0], s[1], reps, s[2], s[3]).reshape(s[0], s[1] * reps, s[2], s[3]);
    }

    /** The additive bias from the mask and causality, or null when there is neither. */
    private static Tensor bias(Tensor mask, boolean causal, int past, int qLen, int kvLen, Tensor like) {
        Tensor bias = null;
        if (mask != null) {
            if (mask.dim() == 0 || mask.size(-1) > kvLen)
                throw new IllegalArgumentException("attention: mask " + Elementwise.describe(mask) + " has more than the " + kvLen + " keys");
            bias = mask.dtype() == DType.BOOL ? toBias(mask, like) : mask.to(like.dtype());
            if (mask.size(-1) < kvLen) {
                int[] padShape = bias.shape();
                padShape[padShape.length - 1] = kvLen - mask.size(-1);
                bias = Tensor.cat(List.of(bias, Tensor.full(Double.NEGATIVE_INFINITY, like.dtype(), like.device(), padShape)), -1);
            }
        }
        if (causal) {
            Tensor c = causalBias(past, qLen, kvLen, like);
            bias = bias == null ? c : bias.add(c);
        }
        return bias;
    }

    /** (qLen, kvLen): 0 where key j <= query i + past, else -inf; one cached constant per shape and offset. */
    private static Tensor causalBias(int past, int qLen, int kvLen, Tensor like) {
        return Constants.get("causal attention bias", like.dtype(), like.backend(), () -> {
            double[] bias = new double[qLen * kvLen];
            for (int i = 0; i < qLen; i++)
                java.util.Arrays.fill(bias, i * kvLen + Math.min(kvLen, Math.max(0, i + past + 1)), (i + 1) * kvLen, Double.NEGATIVE_INFINITY);
            return Tensor.of(bias, like.dtype(), like.device(), qLen, kvLen);
        }, past, qLen, kvLen);
    }

    private static Tensor toBias(Tensor allowed, Tensor like) {
        return Tensor.where(allowed, Tensor.zeros(like.dtype(), like.device()), Tensor.full(Double.NEGATIVE_INFINITY, like.dtype(), like.device()));
    }
}
