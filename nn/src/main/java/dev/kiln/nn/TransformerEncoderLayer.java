package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

/**
 * PyTorch's {@code nn.TransformerEncoderLayer}: self-attention then the feed-forward block, each with a residual
 * connection and layer norm (after the residual by default, before the block with normFirst). Inputs (L, B, E), or
 * (B, L, E) with batchFirst.
 */
public final class TransformerEncoderLayer extends TransformerLayer {
    /**
     * An encoder layer with PyTorch's default options.
     *
     * @param dModel the model width
     * @param nhead the attention heads
     */
    public TransformerEncoderLayer(int dModel, int nhead) { this(dModel, nhead, TransformerOptions.defaults()); }

    /**
     * PyTorch's leading positional arguments (d_model, nhead, dim_feedforward, dropout), the rest at their defaults.
     *
     * @param dModel the model width
     * @param nhead the attention heads
     * @param dimFeedforward the feed-forward width
     * @param dropout the dropout probability
     */
    public TransformerEncoderLayer(int dModel, int nhead, int dimFeedforward, double dropout) {
        this(dModel, nhead, TransformerOptions.defaults().withDimFeedforward(dimFeedforward).withDropout(dropout));
    }

    /**
     * An encoder layer with the given options.
     *
     * @param dModel the model width
     * @param nhead the attention heads
     * @param options the other settings
     */
    public TransformerEncoderLayer(int dModel, int nhead, TransformerOptions options) { super(dModel, nhead, options, false); }

    @Override
    public Tensor forward(Tensor src) { return forward(src, null); }

    /**
     * {@code srcMasks}: the self-attention's masks (attention mask, key padding mask, causal); may be null.
     *
     * @param src the sequence
     * @param srcMasks masks for the self-attention, or null
     * @return the layer's output
     */
    public Tensor forward(Tensor src, MultiheadAttention.Options srcMasks) {
        try (Scope s = Scope.open()) {
            Tensor x = residual(1, src, h -> attend("self_attn", h, h, srcMasks));
            return s.keep(residual(2, x, this::feedForward));
        }
    }
}
