package dev.kiln.nn;

/**
 * The settings PyTorch's Transformer layers share beyond d_model and nhead (defaults as PyTorch's): feed-forward
 * width 2048, dropout 0.1, ReLU, layer-norm epsilon 1e-5, time-major (L, B, E) inputs, post-norm, biases.
 * {@code normFirst} puts each layer norm before its sub-block ({@code x + f(norm(x))}) instead of after the residual
 * ({@code norm(x + f(x))}).
 */
public record TransformerOptions(int dimFeedforward, double dropout, FeedForwardActivation activation, double layerNormEps,
                                 boolean batchFirst, boolean normFirst, boolean bias) {
    /** The feed-forward block's nonlinearity. */
    public enum FeedForwardActivation { RELU, GELU }

    public TransformerOptions {
        if (dimFeedforward <= 0) throw new IllegalArgumentException("Transformer: dimFeedforward must be positive, got " + dimFeedforward);
        if (!(dropout >= 0 && dropout <= 1)) throw new IllegalArgumentException("Transformer: dropout must be in [0, 1], got " + dropout);
        if (!(layerNormEps > 0)) throw new IllegalArgumentException("Transformer: layerNormEps must be positive, got " + layerNormEps);
    }

    public static TransformerOptions defaults() { return new TransformerOptions(2048, 0.1, FeedForwardActivation.RELU, 1e-5, false, false, true); }

    public TransformerOptions withDimFeedforward(int d) { return new TransformerOptions(d, dropout, activation, layerNormEps, batchFirst, normFirst, bias); }

    public TransformerOptions withDropout(double p) { return new TransformerOptions(dimFeedforward, p, activation, layerNormEps, batchFirst, normFirst, bias); }

    public TransformerOptions withActivation(FeedForwardActivation a) { return new TransformerOptions(dimFeedforward, dropout, a, layerNormEps, batchFirst, normFirst, bias); }

    public TransformerOptions withLayerNormEps(double e) { return new TransformerOptions(dimFeedforward, dropout, activation, e, batchFirst, normFirst, bias); }

    public TransformerOptions withBatchFirst(boolean b) { return new TransformerOptions(dimFeedforward, dropout, activation, layerNormEps, b, normFirst, bias); }

    public TransformerOptions withNormFirst(boolean n) { return new TransformerOptions(dimFeedforward, dropout, activation, layerNormEps, batchFirst, n, bias); }

    public TransformerOptions withBias(boolean b) { return new TransformerOptions(dimFeedforward, dropout, activation, layerNormEps, batchFirst, normFirst, b); }
}
