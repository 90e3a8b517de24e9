package dev.kiln;

/**
 * How {@link Tensor#toString()} prints values, as PyTorch's {@code torch.set_printoptions}; set with
 * {@link Kiln#setPrintOptions}. Change one setting with the {@code with...} methods:
 * {@code Kiln.setPrintOptions(PrintOptions.DEFAULT.withPrecision(2))}.
 *
 * @param precision digits after the decimal point
 * @param threshold tensors with more elements than this are summarised: only the first and last
 *                  {@code edgeItems} entries of each dimension are printed, with {@code ...} between
 * @param edgeItems entries printed at each end of a summarised dimension
 * @param lineWidth characters per line before a row of values wraps
 * @param sciMode {@code null} to choose scientific notation automatically (as PyTorch does: when the largest and
 *                smallest nonzero magnitudes differ by more than 1000x, or the largest exceeds 1e8, or a non-integer
 *                tensor's smallest is below 1e-4), {@code true} or {@code false} to force it on or off
 */
public record PrintOptions(int precision, int threshold, int edgeItems, int lineWidth, Boolean sciMode) {
    /** PyTorch's defaults: precision 4, threshold 1000, 3 edge items, 80 characters, automatic notation. */
    public static final PrintOptions DEFAULT = new PrintOptions(4, 1000, 3, 80, null);

    /**
     * Checks the settings.
     *
     * @throws IllegalArgumentException if a count is negative or the line width is not positive
     */
    public PrintOptions {
        if (precision < 0 || threshold < 0 || edgeItems < 0 || lineWidth <= 0)
            throw new IllegalArgumentException("PrintOptions: precision, threshold and edgeItems must be non-negative and lineWidth "
                    + "positive, got precision " + precision + ", threshold " + threshold + ", edgeItems " + edgeItems + ", lineWidth " + lineWidth);
    }

    /**
     * {@return these options with another precision}
     *
     * @param digits digits after the decimal point
     */
    public PrintOptions withPrecision(int digits) { return new PrintOptions(digits, threshold, edgeItems, lineWidth, sciMode); }

    /**
     * {@return these options with another summarising threshold}
     *
     * @param elements the element count above which tensors are summarised
     */
    public PrintOptions withThreshold(int elements) { return new PrintOptions(precision, elements, edgeItems, lineWidth, sciMode); }

    /**
     * {@return these options with another number of edge items}
     *
     * @param items entries printed at each end of a summarised dimension
     */
    public PrintOptions withEdgeItems(int items) { return new PrintOptions(precision, threshold, items, lineWidth, sciMode); }

    /**
     * {@return these options with another line width}
     *
     * @param characters characters per line
     */
    public PrintOptions withLineWidth(int characters) { return new PrintOptions(precision, threshold, edgeItems, characters, sciMode); }

    /**
     * {@return these options with scientific notation forced on or off, or automatic}
     *
     * @param on {@code true} or {@code false} to force, {@code null} for automatic
     */
    public PrintOptions withSciMode(Boolean on) { return new PrintOptions(precision, threshold, edgeItems, lineWidth, on); }
}
