package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.util.function.Supplier;

/** PyTorch's {@code nn.TransformerDecoder}: {@code numLayers} decoder layers ({@code layers.0}, ...) and an optional final {@code norm}. */
public final class TransformerDecoder extends Module {
    private final ModuleList layers;

    /** {@code layer} makes each of the numLayers layers (Java's stand-in for PyTorch's deep copies); {@code norm} may be null. */
    public TransformerDecoder(Supplier<TransformerDecoderLayer> layer, int numLayers, LayerNorm norm) {
        if (numLayers <= 0) throw new IllegalArgumentException("TransformerDecoder: numLayers must be positive, got " + numLayers);
        layers = registerModule("layers", new ModuleList());
        for (int i = 0; i < numLayers; i++) layers.add(layer.get());
        if (norm != null) registerModule("norm", norm);
    }

    public Tensor forward(Tensor tgt, Tensor memory) { return forward(tgt, memory, null, null); }

    /**
     * {@code tgtMasks} and {@code memoryMasks}: every layer's self-attention and memory-attention masks; may be
     * null. A key/value cache in tgtMasks would be shared by all layers, so it is refused: cache per layer with
     * {@link TransformerDecoderLayer} instead.
     */
    public Tensor forward(Tensor tgt, Tensor memory, MultiheadAttention.Options tgtMasks, MultiheadAttention.Options memoryMasks) {
        if (tgtMasks != null && tgtMasks.cache() != null || memoryMasks != null && memoryMasks.cache() != null)
            throw new IllegalArgumentException("TransformerDecoder: one key/value cache cannot serve " + layers.size() + " layers; run the layers with a cache each");
        try (Scope s = Scope.open()) {
            Tensor x = tgt;
            for (Module layer : layers) x = ((TransformerDecoderLayer) layer).forward(x, memory, tgtMasks, memoryMasks);
            Module norm = children().get("norm");
            return s.keep(norm == null ? x : norm.forward(x));
        }
    }
}
