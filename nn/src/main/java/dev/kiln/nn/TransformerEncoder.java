package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.util.function.Supplier;

/** PyTorch's {@code nn.TransformerEncoder}: {@code numLayers} encoder layers ({@code layers.0}, ...) and an optional final {@code norm}. */
public final class TransformerEncoder extends Module {
    private final ModuleList layers;

    /**
     * {@code layer} makes each of the numLayers layers (Java's stand-in for PyTorch's deep copies); {@code norm} may be null.
     *
     * @param layer makes one layer; called numLayers times
     * @param numLayers the number of layers, positive
     * @param norm a final layer norm, or null
     * @throws IllegalArgumentException if numLayers is not positive
     */
    public TransformerEncoder(Supplier<TransformerEncoderLayer> layer, int numLayers, LayerNorm norm) {
        if (numLayers <= 0) throw new IllegalArgumentException("TransformerEncoder: numLayers must be positive, got " + numLayers);
        layers = registerModule("layers", new ModuleList());
        for (int i = 0; i < numLayers; i++) layers.add(layer.get());
        if (norm != null) registerModule("norm", norm);
    }

    @Override
    public Tensor forward(Tensor src) { return forward(src, null); }

    /**
     * {@code srcMasks}: every layer's self-attention masks; may be null.
     *
     * @param src the sequence
     * @param srcMasks every layer's self-attention masks, or null
     * @return the stack's output
     */
    public Tensor forward(Tensor src, MultiheadAttention.Options srcMasks) {
        try (Scope s = Scope.open()) {
            Tensor x = src;
            for (Module layer : layers) x = ((TransformerEncoderLayer) layer).forward(x, srcMasks);
            Module norm = children().get("norm");
            return s.keep(norm == null ? x : norm.forward(x));
        }
    }
}
