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

    /**
     * Dropout drawing from the default generator (PyTorch's {@code nn.Dropout(p)}).
     *
     * @param p the probability of zeroing an element, in [0, 1]
     * @throws IllegalArgumentException if p is not in [0, 1]
     */
    public Dropout(double p) { this(p, null); }

    /**
     * Dropout drawing its masks from a generator of its own.
     *
     * @param p the probability of zeroing an element, in [0, 1]
     * @param generator the generator the masks come from, or null for the default generator
     * @throws IllegalArgumentException if p is not in [0, 1]
     */

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
