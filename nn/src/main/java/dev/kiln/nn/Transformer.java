package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Scope;
import dev.kiln.Tensor;

/**
 * PyTorch's {@code nn.Transformer}: an {@code encoder} of encoder layers and a {@code decoder} of decoder layers,
 * each stack ending in a layer norm. {@code forward(src, tgt)} encodes the source (S, B, E) into memory and
 * decodes the target (T, B, E) over it (batch-first with {@link TransformerOptions#batchFirst()}).
 */
public final class Transformer extends Module {
    private final TransformerEncoder encoder;
    private final TransformerDecoder decoder;

    /** PyTorch's defaults: d_model 512, 8 heads, 6 encoder and 6 decoder layers. */
    public Transformer() { this(512, 8, 6, 6, TransformerOptions.defaults()); }

    /**
     * An encoder-decoder Transformer with final layer norms on both stacks.
     *
     * @param dModel the model width
     * @param nhead the attention heads
     * @param numEncoderLayers the encoder layers
     * @param numDecoderLayers the decoder layers
     * @param options the settings the layers share
     */
    public Transformer(int dModel, int nhead, int numEncoderLayers, int numDecoderLayers, TransformerOptions options) {
        encoder = registerModule("encoder", new TransformerEncoder(() -> new TransformerEncoderLayer(dModel, nhead, options), numEncoderLayers,
                new LayerNorm(new int[] {dModel}, options.layerNormEps(), true)));
        decoder = registerModule("decoder", new TransformerDecoder(() -> new TransformerDecoderLayer(dModel, nhead, options), numDecoderLayers,
                new LayerNorm(new int[] {dModel}, options.layerNormEps(), true)));
    }

    /**
     * {@return the encoder stack}
     */
    public TransformerEncoder encoder() { return encoder; }

    /**
     * {@return the decoder stack}
     */
    public TransformerDecoder decoder() { return decoder; }

    /**
     * The decoder's output for {@code tgt} given {@code src}, without masks.
     *
     * @param src the source sequence
     * @param tgt the target sequence
     * @return the decoder's output
     */
    public Tensor forward(Tensor src, Tensor tgt) { return forward(src, tgt, null, null, null); }

    /**
     * {@code srcMasks}: the encoder's self-attention; {@code tgtMasks}: the decoder's self-attention (typically
     * causal); {@code memoryMasks}: the decoder's attention over the memory (typically the source's key padding
     * mask). Any may be null.
     *
     * @param src the source sequence
     * @param tgt the target sequence
     * @param srcMasks masks for the encoder's self-attention, or null
     * @param tgtMasks masks for the decoder's self-attention, or null
     * @param memoryMasks masks for the decoder's attention over the memory, or null
     * @return the decoder's output
     */
    public Tensor forward(Tensor src, Tensor tgt, MultiheadAttention.Options srcMasks, MultiheadAttention.Options tgtMasks,
                          MultiheadAttention.Options memoryMasks) {
        try (Scope s = Scope.open()) {
            Tensor memory = encoder.forward(src, srcMasks);
            return s.keep(decoder.forward(tgt, memory, tgtMasks, memoryMasks));
        }
    }

    /**
     * PyTorch's causal mask: (size, size) floats, 0 on and below the diagonal and minus infinity above it.
     *
     * @param size the sequence length
     * @param dtype a floating-point type
     * @param device the device, or null for the default
     * @return the mask (size, size)
     */
    public static Tensor generateSquareSubsequentMask(int size, DType dtype, Device device) {
        try (Scope s = Scope.open()) {
            Tensor i = Tensor.arange(0, size, 1, DType.INT64, device).unsqueeze(1), j = Tensor.arange(0, size, 1, DType.INT64, device).unsqueeze(0);
            return s.keep(MultiheadAttention.additive(j.gt(i), dtype));
        }
    }

    /**
     * The causal mask as float32 on the default device.
     *
     * @param size the sequence length
     * @return the mask (size, size)
     */
    public static Tensor generateSquareSubsequentMask(int size) { return generateSquareSubsequentMask(size, DType.FLOAT32, null); }
}
