package dev.kiln.nn.models;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.Embedding;
import dev.kiln.nn.LayerNorm;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.MultiheadAttention;
import dev.kiln.nn.TransformerEncoder;
import dev.kiln.nn.TransformerEncoderLayer;
import dev.kiln.nn.TransformerOptions;

/**
 * A BERT-style encoder (Devlin et al., 2019) with its two heads: token plus learned position embeddings, a
 * pre-norm {@link TransformerEncoder} (GELU, batch-first) with a final layer norm, a masked-language-model head
 * ({@link #maskedLmLogits}) for pre-training and a classifier on the first position, the {@code [CLS]} token
 * ({@link #classify}), for fine-tuning. Padding tokens ({@link Config#pad()}) are masked out of the attention.
 */
public final class Bert extends Module {

    /**
     * The architecture.
     *
     * @param vocabSize tokens, the special ones included
     * @param maxLength the longest input (learned positions)
     * @param dModel the model width
     * @param heads the attention heads
     * @param layers the encoder layers
     * @param feedForward the feed-forward width
     * @param dropout the dropout probability
     * @param classes the classifier's classes
     * @param pad the padding token
     */
    public record Config(int vocabSize, int maxLength, int dModel, int heads, int layers, int feedForward, double dropout, int classes, int pad) {
        /** Checks the sizes. */
        public Config {
            if (vocabSize <= 0 || maxLength <= 0 || dModel <= 0 || heads <= 0 || dModel % heads != 0 || layers <= 0 || classes <= 0 || pad < 0 || pad >= vocabSize)
                throw new IllegalArgumentException("Bert: sizes must be positive, dModel a multiple of heads and pad a token, got " + this);
        }
    }

    private final Config config;
    private final Embedding embedding;
    private final Embedding positions;
    private final TransformerEncoder encoder;
    private final Linear maskedLm;
    private final Linear classifier;

    /**
     * A model of the given architecture.
     *
     * @param config the architecture
     */
    public Bert(Config config) {
        this.config = config;
        embedding = registerModule("embedding", new Embedding(config.vocabSize(), config.dModel()));
        positions = registerModule("positions", new Embedding(config.maxLength(), config.dModel()));
        TransformerOptions options = TransformerOptions.defaults().withDimFeedforward(config.feedForward()).withDropout(config.dropout())
                .withActivation(TransformerOptions.FeedForwardActivation.GELU).withBatchFirst(true).withNormFirst(true);
        encoder = registerModule("encoder", new TransformerEncoder(() -> new TransformerEncoderLayer(config.dModel(), config.heads(), options), config.layers(),
                new LayerNorm(new int[] {config.dModel()}, 1e-5, true)));
        maskedLm = registerModule("mlm_head", new Linear(config.dModel(), config.vocabSize()));
        classifier = registerModule("classifier", new Linear(config.dModel(), config.classes()));
    }

    /** {@return the architecture} */
    public Config config() { return config; }

    @Override
    public Tensor forward(Tensor tokens) {
        if (tokens.dim() != 2 || tokens.dtype().isFloatingPoint() || tokens.size(1) > config.maxLength())
            throw new IllegalArgumentException("Bert: expected integer token ids (batch, length) with length <= " + config.maxLength() + ", got "
                    + tokens.dtype() + " " + java.util.Arrays.toString(tokens.shape()));
        try (Scope s = Scope.open()) {
            Tensor x = embedding.forward(tokens).add(positions.forward(Tensor.arange(0, tokens.size(1), 1, DType.INT64, tokens.device())));
            return s.keep(encoder.forward(x, MultiheadAttention.Options.none().withKeyPaddingMask(tokens.eq(config.pad()))));
        }
    }

    /**
     * The masked-language-model logits of every position.
     *
     * @param tokens token ids (B, L), some replaced by the mask token
     * @return logits (B, L, vocabSize)
     */
    public Tensor maskedLmLogits(Tensor tokens) {
        try (Scope s = Scope.open()) {
            return s.keep(maskedLm.forward(forward(tokens)));
        }
    }

    /**
     * The classifier's logits, read from the first position's encoding.
     *
     * @param tokens token ids (B, L), each starting with the classification token
     * @return logits (B, classes)
     */
    public Tensor classify(Tensor tokens) {
        try (Scope s = Scope.open()) {
            return s.keep(classifier.forward(forward(tokens).select(1, 0)));
        }
    }

    @Override
    protected String describe() { return "Bert(" + config + ")"; }
}
