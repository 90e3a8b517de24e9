package dev.kiln.nn;

import dev.kiln.Tensor;

/**
 * Gated recurrent unit with PyTorch's gate order (reset, update, new):
 * {@code n = tanh(x_n + r (W_hn h + b_hn))}, {@code h' = (1 - z) n + z h}.
 */
public final class GRU extends Recurrent {
    public GRU(int inputSize, int hiddenSize) { super(inputSize, hiddenSize, 3); }

    @Override
    Tensor[] cell(Tensor x, Tensor r, Tensor h, Tensor c) {
        Tensor reset = gate(x, 0).add(gate(r, 0)).sigmoid();
        Tensor update = gate(x, 1).add(gate(r, 1)).sigmoid();
        Tensor n = gate(x, 2).add(reset.mul(gate(r, 2))).tanh();
        return new Tensor[] {n.sub(update.mul(n)).add(update.mul(h)), c};
    }
}
