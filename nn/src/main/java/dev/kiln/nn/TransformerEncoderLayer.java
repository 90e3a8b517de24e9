package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

/**
 * A pre-norm Transformer encoder layer: {@code x + attn(ln1(x))}, then {@code x + ffn(ln2(x))} with a GELU
 * feed-forward network of width {@code ffnDim} and dropout after attention and inside the feed-forward block.
 */
public final class TransformerEncoderLayer extends Module {
    private final MultiheadAttention attention;
    private final LayerNorm norm1;
    private final LayerNorm norm2;
    private final Sequential ffn;
    private final Dropout dropout;

    public TransformerEncoderLayer(int embedDim, int heads, int ffnDim, double dropoutP) {
        norm1 = registerModule("norm1", new LayerNorm(embedDim));
        attention = registerModule("self_attn", new MultiheadAttention(embedDim, heads));
        dropout = registerModule("dropout", new Dropout(dropoutP));
        norm2 = registerModule("norm2", new LayerNorm(embedDim));
        ffn = registerModule("ffn", new Sequential(new Linear(embedDim, ffnDim), Activation.gelu(), new Dropout(dropoutP), new Linear(ffnDim, embedDim)));
    }

    @Override
    public Tensor forward(Tensor x) { return forward(x, null); }

    /** {@code mask} as for {@link MultiheadAttention#forward(Tensor, Tensor, Tensor, Tensor)}; may be null. */
    public Tensor forward(Tensor x, Tensor mask) {
        try (Scope s = Scope.open()) {
            Tensor h = norm1.forward(x);
            Tensor y = x.add(dropout.forward(attention.forward(h, h, h, mask)));
            return s.keep(y.add(dropout.forward(ffn.forward(norm2.forward(y)))));
        }
    }
}
