package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Long short-term memory with PyTorch's gate order (input, forget, cell, output):
 * {@code c' = f c + i g}, {@code h' = o tanh(c')}.
 */
public final class LSTM extends Recurrent {
    public LSTM(int inputSize, int hiddenSize) { super(inputSize, hiddenSize, 4); }

    @Override
    Tensor[] cell(Tensor x, Tensor r, Tensor h, Tensor c) {
        Tensor z = x.add(r);
        Tensor i = gate(z, 0).sigmoid(), f = gate(z, 1).sigmoid(), g = gate(z, 2).tanh(), o = gate(z, 3).sigmoid();
        Tensor cNext = f.mul(c).add(i.mul(g));
        return new Tensor[] {o.mul(cNext.tanh()), cNext};
    }
}
