package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.util.List;
import java.util.function.Supplier;

/** PyTorch's {@code nn.TransformerDecoder}: {@code numLayers} decoder layers ({@code layers.0}, ...) and an optional final {@code norm}. */
public final class TransformerDecoder extends Module {
    private final ModuleList layers;

    /**
     * {@code layer} makes each of the numLayers layers (Java's stand-in for PyTorch's deep copies); {@code norm} may be null.
     *
     * @param layer makes one layer; called numLayers times
     * @param numLayers the number of layers, positive
     * @param norm a final layer norm, or null
     * @throws IllegalArgumentException if numLayers is not positive
     */
    public TransformerDecoder(Supplier<TransformerDecoderLayer> layer, int numLayers, LayerNorm norm) {
        if (numLayers <= 0) throw new IllegalArgumentException("TransformerDecoder: numLayers must be positive, got " + numLayers);
        layers = registerModule("layers", new ModuleList());
        for (int i = 0; i < numLayers; i++) layers.add(layer.get());
        if (norm != null) registerModule("norm", norm);
    }

    /**
     * The stack applied without masks.
     *
     * @param tgt the target sequence
     * @param memory the encoder's output
     * @return the stack's output
     */
    public Tensor forward(Tensor tgt, Tensor memory) { return forward(tgt, memory, null, null, null); }

    /**
     * {@code tgtMasks} and {@code memoryMasks}: every layer's self-attention and memory-attention masks; may be null.
     *
     * @param tgt the target sequence
     * @param memory the encoder's output
     * @param tgtMasks masks for the self-attention, or null
     * @param memoryMasks masks for the attention over the memory, or null
     * @return the stack's output
     */
    public Tensor forward(Tensor tgt, Tensor memory, MultiheadAttention.Options tgtMasks, MultiheadAttention.Options memoryMasks) {
        return forward(tgt, memory, tgtMasks, memoryMasks, null);
    }

    /**
     * As {@link #forward(Tensor, Tensor, MultiheadAttention.Options, MultiheadAttention.Options)}, with one key/value
     * cache per layer for incremental decoding (null for none): feed the new target steps with causal tgtMasks and
     * each layer's self-attention attends to its cached steps. A cache inside tgtMasks would be shared by every layer,
     * so it is refused.
     *
     * @param tgt the new target steps
     * @param memory the encoder's output
     * @param tgtMasks masks for the self-attention (no cache in them), or null
     * @param memoryMasks masks for the attention over the memory (no cache in them), or null
     * @param layerCaches one cache per layer, or null
     * @return the stack's output for the new steps
     * @throws IllegalArgumentException if a mask option carries a cache
     */
    public Tensor forward(Tensor tgt, Tensor memory, MultiheadAttention.Options tgtMasks, MultiheadAttention.Options memoryMasks,
                          List<MultiheadAttention.KVCache> layerCaches) {
        if (tgtMasks != null && tgtMasks.cache() != null || memoryMasks != null && memoryMasks.cache() != null)
            throw new IllegalArgumentException("TransformerDecoder: one key/value cache cannot serve " + layers.size() + " layers; pass one per layer");
        if (layerCaches != null && layerCaches.size() != layers.size())
            throw new IllegalArgumentException("TransformerDecoder: expected " + layers.size() + " layer caches, got " + layerCaches.size());
        MultiheadAttention.Options self = tgtMasks == null ? MultiheadAttention.Options.none() : tgtMasks;
        try (Scope s = Scope.open()) {
            Tensor x = tgt;
            for (int i = 0; i < layers.size(); i++)
                x = ((TransformerDecoderLayer) layers.get(i)).forward(x, memory, layerCaches == null ? self : self.withCache(layerCaches.get(i)), memoryMasks);
            Module norm = children().get("norm");
            return s.keep(norm == null ? x : norm.forward(x));
        }
    }

    /**
     * {@return the number of layers}
     */
    public int numLayers() { return layers.size(); }
}
