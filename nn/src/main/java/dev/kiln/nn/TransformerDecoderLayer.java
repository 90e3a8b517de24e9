package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

/**
 * PyTorch's {@code nn.TransformerDecoderLayer}: self-attention over the target, attention over the encoder's
 * memory, then the feed-forward block, each with a residual connection and layer norm (after the residual by
 * default, before the block with normFirst). Inputs (T, B, E) and memory (S, B, E), or batch-first.
 *
 * <p>For incremental decoding, give {@code tgtMasks} a {@link MultiheadAttention.KVCache} and causal masking, and
 * feed one new target step per call: the self-attention attends to the cached steps.
 */
public final class TransformerDecoderLayer extends TransformerLayer {
    /**
     * A decoder layer with PyTorch's default options.
     *
     * @param dModel the model width
     * @param nhead the attention heads
     */
    public TransformerDecoderLayer(int dModel, int nhead) { this(dModel, nhead, TransformerOptions.defaults()); }

    /**
     * PyTorch's leading positional arguments (d_model, nhead, dim_feedforward, dropout), the rest at their defaults.
     *
     * @param dModel the model width
     * @param nhead the attention heads
     * @param dimFeedforward the feed-forward width
     * @param dropout the dropout probability
     */
    public TransformerDecoderLayer(int dModel, int nhead, int dimFeedforward, double dropout) {
        this(dModel, nhead, TransformerOptions.defaults().withDimFeedforward(dimFeedforward).withDropout(dropout));
    }

    /**
     * A decoder layer with the given options.
     *
     * @param dModel the model width
     * @param nhead the attention heads
     * @param options the other settings
     */
    public TransformerDecoderLayer(int dModel, int nhead, TransformerOptions options) { super(dModel, nhead, options, true); }

    /**
     * The layer applied without masks.
     *
     * @param tgt the target sequence
     * @param memory the encoder's output
     * @return the layer's output
     */
    public Tensor forward(Tensor tgt, Tensor memory) { return forward(tgt, memory, null, null); }

    /**
     * {@code tgtMasks} for the self-attention, {@code memoryMasks} for the attention over memory; either may be null.
     *
     * @param tgt the target sequence
     * @param memory the encoder's output
     * @param tgtMasks masks (and cache) for the self-attention, or null
     * @param memoryMasks masks for the attention over the memory, or null
     * @return the layer's output
     */
    public Tensor forward(Tensor tgt, Tensor memory, MultiheadAttention.Options tgtMasks, MultiheadAttention.Options memoryMasks) {
        try (Scope s = Scope.open()) {
            Tensor x = residual(1, tgt, h -> attend("self_attn", h, h, tgtMasks));
            x = residual(2, x, h -> attend("multihead_attn", h, memory, memoryMasks));
            return s.keep(residual(3, x, this::feedForward));
        }
    }
}
