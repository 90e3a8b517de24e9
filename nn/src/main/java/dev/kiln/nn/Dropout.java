package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;
import dev.kiln.random.Generator;

/**
 * Inverted dropout in training mode, the identity in evaluation. Masks come from the default Philox generator, or
 * from a {@link Generator} of the layer's own, so its randomness does not shift when other code draws numbers.
 */
public final class Dropout extends Module {
    private final double p;
    private final Generator generator;

    public Dropout(double p) { this(p, null); }

    /** {@code generator} null: the default generator. */
    public Dropout(double p, Generator generator) {
        if (p < 0 || p > 1) throw new IllegalArgumentException("Dropout: p must be in [0, 1], got " + p);
        this.p = p;
        this.generator = generator;
    }

    @Override
    public Tensor forward(Tensor input) { return Functional.dropout(input, p, isTraining(), generator); }

    @Override
    protected String describe() { return "Dropout(p=" + p + ")"; }
}
