package dev.kiln.nn;

/**
 * The settings PyTorch's Transformer layers share beyond d_model and nhead (defaults as PyTorch's): feed-forward
 * width 2048, dropout 0.1, ReLU, layer-norm epsilon 1e-5, time-major (L, B, E) inputs, post-norm, biases.
 * {@code normFirst} puts each layer norm before its sub-block ({@code x + f(norm(x))}) instead of after the residual
 * ({@code norm(x + f(x))}).
 *
 * @param dimFeedforward the feed-forward block's width
 * @param dropout the dropout probability
 * @param activation the feed-forward nonlinearity
 * @param layerNormEps the layer norms' epsilon
 * @param batchFirst whether inputs are (B, L, E) rather than (L, B, E)
 * @param normFirst whether each layer norm comes before its sub-block
 * @param bias whether linear layers and layer norms have biases
 */
public record TransformerOptions(int dimFeedforward, double dropout, FeedForwardActivation activation, double layerNormEps,
                                 boolean batchFirst, boolean normFirst, boolean bias) {
    /** The feed-forward block's nonlinearity. */
    public enum FeedForwardActivation {
        /** {@code max(0, x)}, PyTorch's default. */
        RELU,
        /** GELU, exact (erf) form. */
        GELU
    }

    /**
     * Checks the settings.
     *
     * @throws IllegalArgumentException if the width or epsilon is not positive or dropout is not in [0, 1]
     */
    public TransformerOptions {
        if (dimFeedforward <= 0) throw new IllegalArgumentException("Transformer: dimFeedforward must be positive, got " + dimFeedforward);
        if (!(dropout >= 0 && dropout <= 1)) throw new IllegalArgumentException("Transformer: dropout must be in [0, 1], got " + dropout);
        if (!(layerNormEps > 0)) throw new IllegalArgumentException("Transformer: layerNormEps must be positive, got " + layerNormEps);
    }

    /**
     * {@return PyTorch's defaults}
     */
    public static TransformerOptions defaults() { return new TransformerOptions(2048, 0.1, FeedForwardActivation.RELU, 1e-5, false, false, true); }

    /**
     * Another feed-forward width.
     *
     * @param d the feed-forward width
     * @return these options with that change
     */
    public TransformerOptions withDimFeedforward(int d) { return new TransformerOptions(d, dropout, activation, layerNormEps, batchFirst, normFirst, bias); }

    /**
     * Another dropout probability.
     *
     * @param p the dropout probability
     * @return these options with that change
     */
    public TransformerOptions withDropout(double p) { return new TransformerOptions(dimFeedforward, p, activation, layerNormEps, batchFirst, normFirst, bias); }

    /**
     * Another feed-forward nonlinearity.
     *
     * @param a the nonlinearity
     * @return these options with that change
     */
    public TransformerOptions withActivation(FeedForwardActivation a) { return new TransformerOptions(dimFeedforward, dropout, a, layerNormEps, batchFirst, normFirst, bias); }

    /**
     * Another layer-norm epsilon.
     *
     * @param e the epsilon
     * @return these options with that change
     */
    public TransformerOptions withLayerNormEps(double e) { return new TransformerOptions(dimFeedforward, dropout, activation, e, batchFirst, normFirst, bias); }

    /**
     * Batch-first or time-major inputs.
     *
     * @param b whether inputs are batch-first
     * @return these options with that change
     */
    public TransformerOptions withBatchFirst(boolean b) { return new TransformerOptions(dimFeedforward, dropout, activation, layerNormEps, b, normFirst, bias); }

    /**
     * Pre-norm or post-norm layers.
     *
     * @param n whether layer norms come first
     * @return these options with that change
     */
    public TransformerOptions withNormFirst(boolean n) { return new TransformerOptions(dimFeedforward, dropout, activation, layerNormEps, batchFirst, n, bias); }

    /**
     * With or without biases.
     *
     * @param b whether to have biases
     * @return these options with that change
     */
    public TransformerOptions withBias(boolean b) { return new TransformerOptions(dimFeedforward, dropout, activation, layerNormEps, batchFirst, normFirst, b); }
}
