package dev.kiln.nn.models;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Embedding;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.MultiheadAttention;
import dev.kiln.nn.Transformer;
import dev.kiln.nn.TransformerOptions;

import java.util.ArrayList;
import java.util.List;

/**
 * An encoder-decoder Transformer over token sequences (Vaswani et al., 2017), built on {@link Transformer}:
 * one token embedding shared by source and target, learned positions, pre-norm layers, batch-first, a linear
 * read-out to the vocabulary. Source padding (token {@link Config#pad()}) is masked out of the encoder's
 * self-attention and the decoder's cross-attention; the decoder's self-attention is causal.
 * {@link #greedyDecode} generates with one key/value cache per decoder layer.
 */
public final class Seq2SeqTransformer extends Module {

    /**
     * The architecture.
     *
     * @param vocabSize tokens, padding and the begin / end markers included
     * @param maxLength the longest source or target sequence (learned positions)
     * @param dModel the model width
     * @param heads the attention heads
     * @param encoderLayers the encoder layers
     * @param decoderLayers the decoder layers
     * @param feedForward the feed-forward width
     * @param dropout the dropout probability
     * @param pad the padding token
     */
    public record Config(int vocabSize, int maxLength, int dModel, int heads, int encoderLayers, int decoderLayers, int feedForward, double dropout, int pad) {
        /** Checks the sizes. */
        public Config {
            if (vocabSize <= 0 || maxLength <= 0 || dModel <= 0 || heads <= 0 || dModel % heads != 0 || pad < 0 || pad >= vocabSize)
                throw new IllegalArgumentException("Seq2SeqTransformer: sizes must be positive, dModel a multiple of heads and pad a token, got " + this);
        }
    }

    private final Config config;
    private final Embedding embedding;
    private final Embedding positions;
    private final Transformer transformer;
    private final Linear head;

    /**
     * A model of the given architecture.
     *
     * @param config the architecture
     */
    public Seq2SeqTransformer(Config config) {
        this.config = config;
        embedding = registerModule("embedding", new Embedding(config.vocabSize(), config.dModel()));
        positions = registerModule("positions", new Embedding(config.maxLength(), config.dModel()));
        TransformerOptions options = TransformerOptions.defaults().withDimFeedforward(config.feedForward()).withDropout(config.dropout())
                .withBatchFirst(true).withNormFirst(true);
        transformer = registerModule("transformer", new Transformer(config.dModel(), config.heads(), config.encoderLayers(), config.decoderLayers(), options));
        head = registerModule("head", new Linear(config.dModel(), config.vocabSize()));
    }

    /** {@return the architecture} */
    public Config config() { return config; }

    /** Token plus position embeddings of {@code tokens} (B, L) whose first position is {@code offset}. */
    private Tensor embed(Tensor tokens, int offset) {
        if (tokens.dim() != 2 || tokens.dtype().isFloatingPoint() || offset + tokens.size(1) > config.maxLength())
            throw new IllegalArgumentException("Seq2SeqTransformer: expected integer token ids (batch, length) with offset + length <= " + config.maxLength()
                    + ", got " + tokens.dtype() + " " + java.util.Arrays.toString(tokens.shape()) + " at offset " + offset);
        try (Scope s = Scope.open()) {
            Tensor at = Tensor.arange(offset, offset + tokens.size(1), 1, DType.INT64, tokens.device());
            return s.keep(embedding.forward(tokens).add(positions.forward(at)));
        }
    }

    private MultiheadAttention.Options sourcePadding(Tensor source) {
        return MultiheadAttention.Options.none().withKeyPaddingMask(source.eq(config.pad()));
    }

    /**
     * Teacher-forced logits: the decoder reads {@code target} (B, T) over the encoded {@code source} (B, S).
     *
     * @param source source token ids (B, S), padded with the pad token
     * @param target decoder input ids (B, T), starting with the begin marker
     * @return logits (B, T, vocabSize) for the next target token at each position
     */
    public Tensor forward(Tensor source, Tensor target) {
        try (Scope s = Scope.open()) {
            MultiheadAttention.Options padding = sourcePadding(source);
            Tensor memory = transformer.encoder().forward(embed(source, 0), padding);
            Tensor decoded = transformer.decoder().forward(embed(target, 0), memory, MultiheadAttention.Options.none().withCausal(true), padding);
            return s.keep(head.forward(decoded));
        }
    }

    /**
     * Greedy decoding without gradients: starting from {@code begin}, each step appends the most likely next token,
     * for {@code steps} steps (every sequence is decoded to the same length; read each up to its end marker).
     *
     * @param source source token ids (B, S), padded with the pad token
     * @param begin the begin marker
     * @param steps the tokens to generate, at most maxLength - 1
     * @return the generated ids (B, steps), begin marker excluded
     */
    public Tensor greedyDecode(Tensor source, int begin, int steps) {
        if (steps <= 0 || steps >= config.maxLength())
            throw new IllegalArgumentException("Seq2SeqTransformer.greedyDecode: steps must be in [1, " + (config.maxLength() - 1) + "], got " + steps);
        boolean wasTraining = isTraining();
        eval();
        List<MultiheadAttention.KVCache> caches = new ArrayList<>();
        for (int i = 0; i < transformer.decoder().numLayers(); i++) caches.add(new MultiheadAttention.KVCache());
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            MultiheadAttention.Options padding = sourcePadding(source);
            Tensor memory = transformer.encoder().forward(embed(source, 0), padding);
            Tensor next = Tensor.full(begin, DType.INT64, source.device(), source.size(0), 1);
            List<Tensor> generated = new ArrayList<>();
            for (int t = 0; t < steps; t++) {
                Tensor decoded = transformer.decoder().forward(embed(next, t), memory, MultiheadAttention.Options.none().withCausal(true), padding, caches);
                next = head.forward(decoded).argmax(-1, false);
                generated.add(next);
            }
            return s.keep(Tensor.cat(generated, 1));
        } finally {
            caches.forEach(MultiheadAttention.KVCache::close);
            train(wasTraining);
        }
    }

    @Override
    protected String describe() { return "Seq2SeqTransformer(" + config + ")"; }
}
