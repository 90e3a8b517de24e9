package dev.kiln.nn;

import dev.kiln.Tensor;

import java.util.function.UnaryOperator;

/**
 * What PyTorch's Transformer encoder and decoder layers share: self-attention ({@code self_attn}), for the decoder
 * cross-attention over the encoder's memory ({@code multihead_attn}), the feed-forward block ({@code linear1},
 * {@code dropout}, {@code linear2}), and one residual connection per sub-block with its layer norm and dropout
 * ({@code norm1}, {@code dropout1}, ...), placed before (normFirst) or after the residual.
 */
public abstract sealed class TransformerLayer extends Module permits TransformerEncoderLayer, TransformerDecoderLayer {
    protected final int dModel;
    protected final int nhead;
    protected final TransformerOptions options;

    TransformerLayer(int dModel, int nhead, TransformerOptions options, boolean crossAttention) {
        this.dModel = dModel;
        this.nhead = nhead;
        this.options = options;
        registerModule("self_attn", attention());
        if (crossAttention) registerModule("multihead_attn", attention());
        registerModule("linear1", new Linear(dModel, options.dimFeedforward(), options.bias()));
        registerModule("dropout", new Dropout(options.dropout()));
        registerModule("linear2", new Linear(options.dimFeedforward(), dModel, options.bias()));
        int blocks = crossAttention ? 3 : 2;
        for (int i = 1; i <= blocks; i++) registerModule("norm" + i, new LayerNorm(new int[] {dModel}, options.layerNormEps(), true));
        for (int i = 1; i <= blocks; i++) registerModule("dropout" + i, new Dropout(options.dropout()));
    }

    private MultiheadAttention attention() {
        return new MultiheadAttention(dModel, nhead, options.dropout(), options.bias(), dModel, dModel, options.batchFirst());
    }

    /** Residual sub-block {@code i} (1-based): {@code x + drop_i(f(norm_i(x)))} with normFirst, else {@code norm_i(x + drop_i(f(x)))}. */
    final Tensor residual(int i, Tensor x, UnaryOperator<Tensor> f) {
        Module norm = children().get("norm" + i), drop = children().get("dropout" + i);
        return options.normFirst() ? x.add(drop.forward(f.apply(norm.forward(x)))) : norm.forward(x.add(drop.forward(f.apply(x))));
    }

    /** {@code attn} ("self_attn" or "multihead_attn") of query over keys and values {@code kv}, output only. */
    final Tensor attend(String attn, Tensor query, Tensor kv, MultiheadAttention.Options masks) {
        MultiheadAttention.Options o = masks == null ? MultiheadAttention.Options.none() : masks;
        // The layer has no use for the weights: don't compute them.
        o = new MultiheadAttention.Options(o.keyPaddingMask(), o.attnMask(), o.causal(), false, true, o.cache());
        return ((MultiheadAttention) children().get(attn)).forward(query, kv, kv, o).output();
    }

    final Tensor feedForward(Tensor x) {
        Tensor h = children().get("linear1").forward(x);
        h = options.activation() == TransformerOptions.FeedForwardActivation.GELU ? h.gelu() : h.relu();
        return children().get("linear2").forward(children().get("dropout").forward(h));
    }

    /**
     * {@return the options this layer was built with}
     */
    public TransformerOptions options() { return options; }

    @Override
    protected String describe() { return getClass().getSimpleName() + "(d_model=" + dModel + ", nhead=" + nhead + ", " + options + ")"; }
}
