package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The shared machinery of {@link RNN}, {@link LSTM} and {@link GRU}: one layer, one direction, batch-first
 * (B, L, input) sequences, PyTorch's parameter names ({@code weight_ih_l0}, {@code weight_hh_l0},
 * {@code bias_ih_l0}, {@code bias_hh_l0}) and gate layouts, and uniform init on +-1/sqrt(hidden). The input
 * projection of every time step is one matrix product; the recurrence then runs step by step, composed from
 * differentiable ops.
 */
public abstract sealed class Recurrent extends Module permits RNN, LSTM, GRU {
    protected final int inputSize;
    protected final int hiddenSize;

    /** The output sequence (B, L, hidden) and the final hidden state (B, hidden); {@code cell} is null except for LSTM. */
    public record Output(Tensor output, Tensor hidden, Tensor cell) {}

    Recurrent(int inputSize, int hiddenSize, int gates) {
        if (inputSize <= 0 || hiddenSize <= 0)
            throw new IllegalArgumentException(getClass().getSimpleName() + ": sizes must be positive, got input=" + inputSize + " hidden=" + hiddenSize);
        this.inputSize = inputSize;
        this.hiddenSize = hiddenSize;
        registerParameter("weight_ih_l0", Init.fanInUniform(hiddenSize, gates * hiddenSize, inputSize));
        registerParameter("weight_hh_l0", Init.fanInUniform(hiddenSize, gates * hiddenSize, hiddenSize));
        registerParameter("bias_ih_l0", Init.fanInUniform(hiddenSize, gates * hiddenSize));
        registerParameter("bias_hh_l0", Init.fanInUniform(hiddenSize, gates * hiddenSize));
    }

    /** The output sequence only, from zero initial state. */
    @Override
    public Tensor forward(Tensor input) {
        Output o = forward(input, null, null);
        o.hidden().close();
        if (o.cell() != null) o.cell().close();
        return o.output();
    }

    /** Runs the sequence from the given state (null for zeros); {@code c0} is only for LSTM. */
    public Output forward(Tensor input, Tensor h0, Tensor c0) {
        if (input.dim() != 3 || input.size(2) != inputSize)
            throw new IllegalArgumentException(getClass().getSimpleName() + ": expected input (B, L, " + inputSize + "), got " + java.util.Arrays.toString(input.shape()));
        int b = input.size(0), len = input.size(1);
        try (Scope s = Scope.open()) {
            Tensor projected = Functional.linear(input, param("weight_ih_l0"), param("bias_ih_l0"));
            Tensor h = h0 != null ? h0 : Tensor.zeros(input.dtype(), input.device(), b, hiddenSize);
            Tensor c = c0 != null ? c0 : Tensor.zeros(input.dtype(), input.device(), b, hiddenSize);
            List<Tensor> outputs = new ArrayList<>(len);
            for (int t = 0; t < len; t++) {
                Tensor recurrent = Functional.linear(h, param("weight_hh_l0"), param("bias_hh_l0"));
                Tensor[] next = cell(projected.select(1, t), recurrent, h, c);
                h = next[0];
                c = next[1];
                outputs.add(h);
            }
            Tensor out = len == 0 ? Tensor.zeros(input.dtype(), input.device(), b, 0, hiddenSize) : Tensor.stack(outputs, 1);
            return new Output(s.keep(out), s.keep(h), this instanceof LSTM ? s.keep(c) : null);
        }
    }

    /**
     * One step: {@code x} is the input projection {@code W_ih x_t + b_ih}, {@code r} the recurrent projection
     * {@code W_hh h + b_hh}, both (B, gates*hidden); returns the new (h, c).
     */
    abstract Tensor[] cell(Tensor x, Tensor r, Tensor h, Tensor c);

    /** Gate {@code i} of a (B, gates*hidden) projection. */
    final Tensor gate(Tensor projection, int i) { return projection.narrow(1, i * hiddenSize, hiddenSize); }

    @Override
    protected String describe() { return getClass().getSimpleName() + "(" + inputSize + ", " + hiddenSize + ")"; }
}
