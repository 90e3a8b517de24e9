package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Tensor;

/** Inverted dropout in training mode (masks from the global Philox generator), the identity in evaluation. */
public final class Dropout extends Module {
    private final double p;

    /**
     * Dropout that zeroes each element with probability {@code p}.
     *
     * @param p the probability, in [0, 1]
     * @throws IllegalArgumentException if p is not in [0, 1]
     */
    public Dropout(double p) {
        if (p < 0 || p > 1) throw new IllegalArgumentException("Dropout: p must be in [0, 1], got " + p);
        this.p = p;
    }

    @Override
    public Tensor forward(Tensor input) { return Functional.dropout(input, p, isTraining()); }

    @Override
    protected String describe() { return "Dropout(p=" + p + ")"; }
}
