package dev.kiln.nn.models;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.Embedding;
import dev.kiln.nn.LayerNorm;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.ModuleList;
import dev.kiln.nn.RelativeMultiheadAttention;

import java.util.ArrayList;
import java.util.List;

/**
 * A Transformer-XL language model (Dai et al., 2019): causal self-attention with relative positions
 * ({@link RelativeMultiheadAttention}) and segment-level recurrence. Each layer attends over the current segment
 * and a memory of the hidden states its input had over the last {@code memoryLength} steps of earlier segments,
 * kept without gradients; there are no absolute positions, so the memory needs none. Layers are pre-norm:
 * {@code x + attn(norm(x), norm(memory))}, then {@code x + ff(norm(x))}. With {@code memoryLength} 0 it is the same
 * model restarted at every segment.
 */
public final class TransformerXl extends Module {

    /**
     * The architecture.
     *
     * @param vocabSize the tokens
     * @param dModel the model width
     * @param heads the attention heads
     * @param layers the layers
     * @param feedForward the feed-forward width
     * @param memoryLength how many earlier steps each layer remembers (0: none)
     */
    public record Config(int vocabSize, int dModel, int heads, int layers, int feedForward, int memoryLength) {
        /** Checks the sizes. */
        public Config {
            if (vocabSize <= 0 || dModel <= 0 || heads <= 0 || dModel % heads != 0 || layers <= 0 || feedForward <= 0 || memoryLength < 0)
                throw new IllegalArgumentException("TransformerXl: sizes must be positive (memoryLength >= 0), dModel a multiple of heads, got " + this);
        }
    }

    /**
     * The logits of a segment and the memory for the next one.
     *
     * @param logits (B, L, vocabSize)
     * @param memory per layer, its input over the last memoryLength steps (B, M, dModel), detached; empty when memoryLength is 0
     */
    public record Output(Tensor logits, List<Tensor> memory) {}

    private final Config config;
    private final Embedding embedding;
    private final ModuleList layers = new ModuleList();
    private final LayerNorm norm;
    private final Linear head;

    /**
     * A model of the given architecture.
     *
     * @param config the architecture
     */
    public TransformerXl(Config config) {
        this.config = config;
        embedding = registerModule("embedding", new Embedding(config.vocabSize(), config.dModel()));
        for (int i = 0; i < config.layers(); i++) layers.add(new Layer(config));
        registerModule("layers", layers);
        norm = registerModule("norm", new LayerNorm(new int[] {config.dModel()}, 1e-5, true));
        head = registerModule("head", new Linear(config.dModel(), config.vocabSize()));
    }

    /** {@return the architecture} */
    public Config config() { return config; }

    @Override
    public Tensor forward(Tensor tokens) {
        Output out = forward(tokens, List.of());
        out.memory().forEach(Tensor::close);
        return out.logits();
    }

    /**
     * One segment: {@code tokens} (B, L) attend to themselves causally and to {@code memory}.
     *
     * @param tokens token ids (B, L)
     * @param memory the previous segment's {@link Output#memory()}, or an empty list at the start
     * @return the logits and the memory for the next segment; the memory belongs to no scope, the caller closes it
     */
    public Output forward(Tensor tokens, List<Tensor> memory) {
        if (tokens.dim() != 2 || tokens.dtype().isFloatingPoint())
            throw new IllegalArgumentException("TransformerXl: expected integer token ids (batch, length), got " + tokens.dtype() + " " + java.util.Arrays.toString(tokens.shape()));
        if (!memory.isEmpty() && memory.size() != layers.size())
            throw new IllegalArgumentException("TransformerXl: expected no memory or one per layer (" + layers.size() + "), got " + memory.size());
        List<Tensor> next = new ArrayList<>();
        try (Scope s = Scope.open()) {
            Tensor x = embedding.forward(tokens);
            for (int i = 0; i < layers.size(); i++) {
                Tensor past = memory.isEmpty() ? null : memory.get(i);
                if (config.memoryLength() > 0) next.add(Scope.escape(remember(past, x)));
                x = ((Layer) layers.get(i)).forward(x, past);
            }
            return new Output(s.keep(head.forward(norm.forward(x))), next);
        }
    }

    /** A copy of the last memoryLength steps of the past memory followed by this segment's layer input, without gradient. */
    private Tensor remember(Tensor past, Tensor input) {
        Tensor all = past == null ? input.detach() : Tensor.cat(List.of(past, input.detach()), 1);
        int keep = Math.min(config.memoryLength(), all.size(1));
        return all.narrow(1, all.size(1) - keep, keep).clone();
    }

    /** One pre-norm layer: relative attention over memory and segment, then the feed-forward block. */
    private static final class Layer extends Module {
        private final LayerNorm norm1, norm2;
        private final RelativeMultiheadAttention attention;
        private final Linear linear1, linear2;

        Layer(Config c) {
            norm1 = registerModule("norm1", new LayerNorm(new int[] {c.dModel()}, 1e-5, true));
            attention = registerModule("attn", new RelativeMultiheadAttention(c.dModel(), c.heads()));
            norm2 = registerModule("norm2", new LayerNorm(new int[] {c.dModel()}, 1e-5, true));
            linear1 = registerModule("linear1", new Linear(c.dModel(), c.feedForward()));
            linear2 = registerModule("linear2", new Linear(c.feedForward(), c.dModel()));
        }

        Tensor forward(Tensor x, Tensor memory) {
            try (Scope s = Scope.open()) {
                Tensor h = x.add(attention.forward(norm1.forward(x), memory == null ? null : norm1.forward(memory)));
                return s.keep(h.add(linear2.forward(linear1.forward(norm2.forward(h)).gelu())));
            }
        }
    }

    @Override
    protected String describe() { return "TransformerXl(" + config + ")"; }
}
