package dev.kiln.nn;

import dev.kiln.Tensor;

/** Elman recurrence {@code h' = tanh(W_ih x + b_ih + W_hh h + b_hh)}. */
public final class RNN extends Recurrent {
    public RNN(int inputSize, int hiddenSize) { super(inputSize, hiddenSize, 1); }

    @Override
    Tensor[] cell(Tensor x, Tensor r, Tensor h, Tensor c) { return new Tensor[] {x.add(r).tanh(), c}; }
}
