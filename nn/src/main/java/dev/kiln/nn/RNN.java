package dev.kiln.nn;

import dev.kiln.Recurrent;
import dev.kiln.Tensor;

import java.util.List;

/**
 * Elman recurrence, as PyTorch's {@code nn.RNN}: {@code h' = act(W_ih x + b_ih + W_hh h + b_hh)} with act tanh
 * (the default) or ReLU. See {@link RNNBase} for layers, directions, states and lengths.
 */
public final class RNN extends RNNBase {
    /**
     * PyTorch's {@code nonlinearity}.
     *
     */
    public enum Nonlinearity {
        /** {@code tanh}, the default. */
        TANH,
        /** {@code max(0, x)}. */
        RELU
    }

    private final Nonlinearity nonlinearity;

    /**
     * A one-layer, unidirectional tanh RNN with biases, time-major.
     *
     * @param inputSize the features of each input step
     * @param hiddenSize the features of the hidden state
     */
    public RNN(int inputSize, int hiddenSize) { this(inputSize, hiddenSize, Nonlinearity.TANH, Options.defaults()); }

    /**
     * A tanh RNN with the given layers, direction, biases and layout.
     *
     * @param inputSize the features of each input step
     * @param hiddenSize the features of the hidden state
     * @param options layers, bias, batchFirst, dropout, bidirectional
     */
    public RNN(int inputSize, int hiddenSize, Options options) { this(inputSize, hiddenSize, Nonlinearity.TANH, options); }

    /**
     * An RNN with the given activation, layers, direction, biases and layout.
     *
     * @param inputSize the features of each input step
     * @param hiddenSize the features of the hidden state
     * @param nonlinearity tanh or ReLU
     * @param options layers, bias, batchFirst, dropout, bidirectional
     */
    public RNN(int inputSize, int hiddenSize, Nonlinearity nonlinearity, Options options) {
        super(inputSize, hiddenSize, options, new int[] {0});
        this.nonlinearity = nonlinearity;
    }

    @Override
    Recurrent.Options configure(Recurrent.Options o) {
        return o.withActivations(List.of(nonlinearity == Nonlinearity.RELU ? Recurrent.Activation.RELU : Recurrent.Activation.TANH));
    }

    @Override
    Recurrent.Output run(Tensor x, Tensor w, Tensor r, Tensor bias, Tensor h0, Tensor c0, Tensor lengths, Recurrent.Options o) {
        return Recurrent.rnn(x, w, r, bias, h0, lengths, o);
    }

    @Override
    String extraDescription() { return nonlinearity == Nonlinearity.RELU ? ", nonlinearity=relu" : ""; }
}
