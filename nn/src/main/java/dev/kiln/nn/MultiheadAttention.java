package dev.kiln.nn;

import dev.kiln.Attention;
import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;

/**
 * Multi-head attention, as PyTorch's {@code nn.MultiheadAttention}: query, key and value projections, attention
 * with {@code numHeads} heads of size embedDim/numHeads ({@link Attention}), dropout on the attention weights in
 * training, and an output projection.
 *
 * <p>Parameters as PyTorch names them: {@code in_proj_weight} (3E, E) holding the query, key and value
 * projections stacked (or {@code q_proj_weight} (E, E), {@code k_proj_weight} (E, kdim), {@code v_proj_weight}
 * (E, vdim) when kdim or vdim differ from E), {@code in_proj_bias} (3E), and {@code out_proj} (a {@link Linear}).
 * Xavier-uniform projections and zero biases, as PyTorch initialises them.
 *
 * <p>Inputs are (L, B, E), or (B, L, E) with batchFirst, or unbatched (L, E) as PyTorch accepts. Masks follow PyTorch: a boolean mask is true where
 * attention is NOT allowed; a floating mask is added to the scores. See {@link Options}.
 */
public final class MultiheadAttention extends Module {
    private final int embedDim;
    private final int numHeads;
    private final double dropout;
    private final boolean batchFirst;
    private final boolean packedProjection;
    private final boolean addZeroAttn;

    /**
     * Per-call masks and extras. {@code keyPaddingMask} (B, S): which keys of each batch entry to ignore.
     * {@code attnMask} (L, S) or (B*numHeads, L, S). {@code causal}: query i also ignores keys after i (after
     * i + P with a cache of P steps). {@code needWeights}: return the attention weights, averaged over heads when
     * {@code averageWeights}. {@code cache}: past keys and values to attend to, extended with this call's. With a
     * cache, S counts the cached keys too.
     *
     * @param keyPaddingMask bool (B, S), true where a key is ignored; or null
     * @param attnMask bool (true = masked) or additive, (L, S) or (B*numHeads, L, S); or null
     * @param causal whether each query ignores later keys
     * @param needWeights whether to return the attention weights
     * @param averageWeights whether the weights are averaged over heads
     * @param cache past keys and values, extended by this call; or null
     */
    public record Options(Tensor keyPaddingMask, Tensor attnMask, boolean causal, boolean needWeights, boolean averageWeights, KVCache cache) {
        /**
         * {@return no masks, no weights, no cache}
         */
        public static Options none() { return new Options(null, null, false, false, true, null); }

        /**
         * With a key padding mask.
         *
         * @param m bool (B, S), true where a key is ignored
         * @return these options with that change
         */
        public Options withKeyPaddingMask(Tensor m) { return new Options(m, attnMask, causal, needWeights, averageWeights, cache); }

        /**
         * With an attention mask.
         *
         * @param m bool or additive, (L, S) or (B*numHeads, L, S)
         * @return these options with that change
         */
        public Options withAttnMask(Tensor m) { return new Options(keyPaddingMask, m, causal, needWeights, averageWeights, cache); }

        /**
         * Causal or not.
         *
         * @param c whether each query ignores later keys
         * @return these options with that change
         */
        public Options withCausal(boolean c) { return new Options(keyPaddingMask, attnMask, c, needWeights, averageWeights, cache); }

        /**
         * Asks for the attention weights, (B, L, S) averaged over heads or (B, numHeads, L, S).
         *
         * @param average whether to average the weights over heads
         * @return these options with that change
         */
        public Options withWeights(boolean average) { return new Options(keyPaddingMask, attnMask, causal, true, average, cache); }

        /**
         * With a key/value cache for incremental decoding.
         *
         * @param c the cache
         * @return these options with that change
         */
        public Options withCache(KVCache c) { return new Options(keyPaddingMask, attnMask, causal, needWeights, averageWeights, c); }
    }

    /**
     * The attention output, in the input's layout, and the attention weights when asked for (else null).
     *
     * @param output the attention output
     * @param weights the attention weights, or null
     */
    public record Output(Tensor output, Tensor weights) {}

    /**
     * Keys and values of earlier steps, (B, numHeads, P, head size), for incremental decoding: each forward call
     * that carries the cache attends to them and appends its own keys and values. The cache owns its tensors;
     * {@link #close()} releases them.
     *
     */
    public static final class KVCache implements AutoCloseable {
        private Tensor key;
        private Tensor value;

        /** An empty cache; the first forward call that carries it fills it. */
        public KVCache() {}

        /**
         * Cached steps so far.
         *
         * @return the number of cached steps P
         */
        public int length() { return key == null ? 0 : key.size(2); }

        /**
         * {@return the cached keys (B, numHeads, P, head size), or null when empty}
         */
        public Tensor key() { return key; }

        /**
         * {@return the cached values (B, numHeads, P, head size), or null when empty}
         */
        public Tensor value() { return value; }

        void update(Tensor newKey, Tensor newValue) {
            close();
            key = Scope.escape(newKey);
            value = Scope.escape(newValue);
        }

        @Override
        public void close() {
            if (key != null) key.close();
            if (value != null) value.close();
            key = value = null;
        }
    }

    /**
     * Self-attention of width {@code embedDim} over {@code numHeads} heads, with biases, no dropout, time-major.
     *
     * @param embedDim the model width, a multiple of numHeads
     * @param numHeads the attention heads
     */
    public MultiheadAttention(int embedDim, int numHeads) { this(embedDim, numHeads, 0, true, embedDim, embedDim, false); }

    /**
     * PyTorch's constructor with {@code add_bias_kv} and {@code add_zero_attn} false.
     *
     * @param embedDim the model width (queries and output), a multiple of numHeads
     * @param numHeads the attention heads
     * @param dropout the dropout probability on the attention weights, in training
     * @param bias whether the input and output projections learn biases
     * @param kdim the width of the keys
     * @param vdim the width of the values
     * @param batchFirst whether inputs are (N, L, E) (else (L, N, E))
     * @throws IllegalArgumentException if embedDim is not a positive multiple of numHeads, or kdim or vdim is not positive
     */
    public MultiheadAttention(int embedDim, int numHeads, double dropout, boolean bias, int kdim, int vdim, boolean batchFirst) {
        this(embedDim, numHeads, dropout, bias, false, false, kdim, vdim, batchFirst);
    }

    /**
     * PyTorch's full constructor. {@code addBiasKv}: learned {@code bias_k}, {@code bias_v} (1, 1, E) appended to the
     * projected keys and values as one more key. {@code addZeroAttn}: a key and value of zeros appended after the
     * head split. Either adds a key the masks do not cover (it is never masked); neither works with a cache or
     * the causal flag (give an attention mask instead).
     *
     * @param embedDim the model width (queries and output), a multiple of numHeads
     * @param numHeads the attention heads
     * @param dropout the dropout probability on the attention weights, in training
     * @param bias whether the input and output projections learn biases
     * @param addBiasKv whether to append learned key and value biases as one more key
     * @param addZeroAttn whether to append a zero key and value after the head split
     * @param kdim the width of the keys
     * @param vdim the width of the values
     * @param batchFirst whether inputs are (N, L, E) (else (L, N, E))
     * @throws IllegalArgumentException if embedDim is not a positive multiple of numHeads, or kdim or vdim is not positive
     */

    public MultiheadAttention(int embedDim, int numHeads, double dropout, boolean bias, boolean addBiasKv, boolean addZeroAttn,
                              int kdim, int vdim, boolean batchFirst) {
        if (numHeads <= 0 || embedDim <= 0 || embedDim % numHeads != 0 || kdim <= 0 || vdim <= 0)
            throw new IllegalArgumentException("MultiheadAttention: embedDim " + embedDim + " must be divisible by numHeads " + numHeads
                    + " and kdim " + kdim + ", vdim " + vdim + " positive");
        if (!(dropout >= 0 && dropout <= 1)) throw new IllegalArgumentException("MultiheadAttention: dropout must be in [0, 1], got " + dropout);
        this.embedDim = embedDim;
        this.numHeads = numHeads;
        this.dropout = dropout;
        this.batchFirst = batchFirst;
        this.packedProjection = kdim == embedDim && vdim == embedDim;
        this.addZeroAttn = addZeroAttn;
        if (packedProjection) {
            registerParameter("in_proj_weight", Init.xavierUniform(embedDim, 3 * embedDim, 3 * embedDim, embedDim));
        } else {
            registerParameter("q_proj_weight", Init.xavierUniform(embedDim, embedDim, embedDim, embedDim));
            registerParameter("k_proj_weight", Init.xavierUniform(kdim, embedDim, embedDim, kdim));
            registerParameter("v_proj_weight", Init.xavierUniform(vdim, embedDim, embedDim, vdim));
        }
        if (bias) registerParameter("in_proj_bias", Tensor.zeros(3 * embedDim));
        if (addBiasKv) {
            // PyTorch's xavier_normal_ on (1, 1, E): fan in = fan out = E.
            registerParameter("bias_k", Init.normal(Math.sqrt(1.0 / embedDim), 1, 1, embedDim));
            registerParameter("bias_v", Init.normal(Math.sqrt(1.0 / embedDim), 1, 1, embedDim));
        }
        Linear out = registerModule("out_proj", new Linear(embedDim, embedDim, bias));
        if (bias) {
            try (var g = dev.kiln.autograd.GradMode.noGrad()) {
                out.bias().zero_();
            }
        }
    }

    /**
     * {@return the model width}
     */
    public int embedDim() { return embedDim; }

    /**
     * {@return the number of heads}
     */
    public int numHeads() { return numHeads; }

    /**
     * {@return whether inputs are batch-first}
     */
    public boolean batchFirst() { return batchFirst; }

    /** Self-attention without masks: query, key and value are all {@code x}. */
    @Override
    public Tensor forward(Tensor x) { return forward(x, x, x); }

    /**
     * Attention without masks.
     *
     * @param query the queries
     * @param key the keys
     * @param value the values
     * @return the attention output, in the input's layout
     */
    public Tensor forward(Tensor query, Tensor key, Tensor value) { return forward(query, key, value, Options.none()).output(); }

    /**
     * Attention with masks, weights or a cache.
     *
     * @param query the queries (L, B, E) or (B, L, E)
     * @param key the keys (S, B, kdim) or (B, S, kdim)
     * @param value the values (S, B, vdim) or (B, S, vdim)
     * @param o masks, weights and cache
     * @return the output, and the weights when asked for
     * @throws IllegalArgumentException if the shapes or masks do not fit
     */
    public Output forward(Tensor query, Tensor key, Tensor value, Options o) {
        if (query.dim() == 2 && key.dim() == 2 && value.dim() == 2) return forwardUnbatched(query, key, value, o);
        if (query.dim() != 3 || key.dim() != 3 || value.dim() != 3 || query.size(2) != embedDim || key.size(0) != value.size(0)
                || key.size(1) != value.size(1) || query.size(batchFirst ? 0 : 1) != key.size(batchFirst ? 0 : 1))
            throw new IllegalArgumentException("MultiheadAttention: expected " + (batchFirst ? "(B, L, E)" : "(L, B, E)") + " inputs with E = " + embedDim
                    + " and matching batch and key/value lengths, got query " + java.util.Arrays.toString(query.shape()) + ", key "
                    + java.util.Arrays.toString(key.shape()) + ", value " + java.util.Arrays.toString(value.shape()));
        try (Scope s = Scope.open()) {
            Tensor qb = batchFirst ? query : query.transpose(0, 1), kb = batchFirst ? key : key.transpose(0, 1), vb = batchFirst ? value : value.transpose(0, 1);
            int batch = qb.size(0), qLen = qb.size(1);
            Tensor biasK = optionalParam("bias_k"), biasV = optionalParam("bias_v");
            int extraKeys = (biasK != null ? 1 : 0) + (addZeroAttn ? 1 : 0);
            if (extraKeys > 0 && (o.cache() != null || o.causal()))
                throw new IllegalArgumentException("MultiheadAttention: add_bias_kv / add_zero_attn do not combine with a KVCache or the causal flag; pass an attnMask");
            Tensor kp = project(1, kb), vp = project(2, vb);
            if (biasK != null) {
                kp = Tensor.cat(java.util.List.of(kp, biasK.expand(batch, 1, embedDim)), 1);
                vp = Tensor.cat(java.util.List.of(vp, biasV.expand(batch, 1, embedDim)), 1);
            }
            Tensor q = Attention.splitHeads(project(0, qb), numHeads);
            Tensor k = Attention.splitHeads(kp, numHeads);
            Tensor v = Attention.splitHeads(vp, numHeads);
            if (addZeroAttn) {
                Tensor zeros = Tensor.zeros(k.dtype(), k.device(), batch, numHeads, 1, k.size(3));
                k = Tensor.cat(java.util.List.of(k, zeros), 2);
                v = Tensor.cat(java.util.List.of(v, zeros), 2);
            }
            KVCache cache = o.cache();
            int keys = (cache == null ? 0 : cache.length()) + k.size(2) - extraKeys;
            Tensor mask = withUnmaskedKeys(mask(o, batch, qLen, keys, q.dtype()), extraKeys);
            boolean dropping = isTraining() && dropout > 0;
            Attention.Output a = Attention.attention(q, k, v, mask, cache == null ? null : cache.key(), cache == null ? null : cache.value(),
                    Attention.Options.defaults().withCausal(o.causal()), o.needWeights() || dropping ? Attention.Scores.PROBABILITIES : null);
            Tensor context = a.output(), weights = a.scores();
            if (dropping) {
                // Attention has no dropout of its own: redo the weighted sum with dropped weights.
                weights = Functional.dropout(weights, dropout, true);
                context = weights.matmul(a.value());
            }
            if (cache != null) cache.update(s.keep(a.key()), s.keep(a.value()));
            Tensor y = children().get("out_proj").forward(Attention.mergeHeads(context));
            if (!batchFirst) y = y.transpose(0, 1);
            Tensor w = !o.needWeights() ? null : o.averageWeights() ? weights.mean(new int[] {1}, false) : weights;
            return new Output(s.keep(y), w == null ? null : s.keep(w));
        }
    }

    /**
     * PyTorch's unbatched form: query (L, E), key and value (S, E), keyPaddingMask (S), attnMask (L, S) or
     * (numHeads, L, S); the output is (L, E) and the weights (L, S) or (numHeads, L, S). Runs as a batch of one.
     */
    private Output forwardUnbatched(Tensor query, Tensor key, Tensor value, Options o) {
        int batchDim = batchFirst ? 0 : 1;
        try (Scope s = Scope.open()) {
            Tensor padding = o.keyPaddingMask();
            if (padding != null && padding.dim() != 1)
                throw new IllegalArgumentException("MultiheadAttention: with unbatched (2-D) inputs keyPaddingMask must be (S), got " + java.util.Arrays.toString(padding.shape()));
            Options batched = o.withKeyPaddingMask(padding == null ? null : padding.unsqueeze(0));
            Output out = forward(query.unsqueeze(batchDim), key.unsqueeze(batchDim), value.unsqueeze(batchDim), batched);
            Tensor w = out.weights() == null ? null : s.keep(out.weights().squeeze(0));
            return new Output(s.keep(out.output().squeeze(batchDim)), w);
        }
    }

    /** Projection {@code which} (0 query, 1 key, 2 value) of (B, L, in). */
    private Tensor project(int which, Tensor x) {
        Tensor bias = optionalParam("in_proj_bias");
        Tensor b = bias == null ? null : bias.narrow(0, which * embedDim, embedDim);
        Tensor w = packedProjection ? param("in_proj_weight").narrow(0, which * embedDim, embedDim)
                : param(new String[] {"q_proj_weight", "k_proj_weight", "v_proj_weight"}[which]);
        return Functional.linear(x, w, b);
    }

    /** The key padding and attention masks as one additive mask broadcastable to (B, heads, L, S), or null. */
    private Tensor mask(Options o, int batch, int qLen, int keys, DType dtype) {
        Tensor mask = null;
        if (o.keyPaddingMask() != null) {
            Tensor m = o.keyPaddingMask();
            if (m.dim() != 2 || m.size(0) != batch || m.size(1) != keys)
                throw new IllegalArgumentException("MultiheadAttention: keyPaddingMask must be (" + batch + ", " + keys + "), got " + java.util.Arrays.toString(m.shape()));
            mask = additive(m, dtype).reshape(batch, 1, 1, keys);
        }
        if (o.attnMask() != null) {
            Tensor m = o.attnMask();
            boolean shared = m.dim() == 2 && m.size(0) == qLen && m.size(1) == keys;
            boolean perHead = m.dim() == 3 && m.size(0) == batch * numHeads && m.size(1) == qLen && m.size(2) == keys;
            if (!shared && !perHead)
                throw new IllegalArgumentException("MultiheadAttention: attnMask must be (" + qLen + ", " + keys + ") or (" + batch * numHeads + ", "
                        + qLen + ", " + keys + "), got " + java.util.Arrays.toString(m.shape()));
            Tensor a = additive(m, dtype);
            if (perHead) a = a.reshape(batch, numHeads, qLen, keys);
            mask = mask == null ? a : mask.add(a);
        }
        return mask;
    }

    /** An additive mask with {@code extra} zero columns after its keys (for the bias and zero keys), or null. */
    private static Tensor withUnmaskedKeys(Tensor mask, int extra) {
        if (mask == null || extra == 0) return mask;
        int[] shape = mask.shape();
        shape[shape.length - 1] = extra;
        return Tensor.cat(java.util.List.of(mask, Tensor.zeros(mask.dtype(), mask.device(), shape)), mask.dim() - 1);
    }

    /** PyTorch's mask convention (bool true = masked; floats added) as additive floats. */
    static Tensor additive(Tensor mask, DType dtype) {
        if (mask.dtype() != DType.BOOL) return mask.to(dtype);
        return Tensor.where(mask, Tensor.full(Double.NEGATIVE_INFINITY, dtype, mask.device()), Tensor.zeros(dtype, mask.device()));
    }

    @Override
    protected String describe() {
        return "MultiheadAttention(" + embedDim + ", num_heads=" + numHeads + (dropout != 0 ? ", dropout=" + dropout : "") + (batchFirst ? ", batch_first=true" : "")
                + (optionalParam("bias_k") != null ? ", add_bias_kv=true" : "") + (addZeroAttn ? ", add_zero_attn=true" : "") + ")";
    }
}
