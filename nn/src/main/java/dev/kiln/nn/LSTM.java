package dev.kiln.nn;

import dev.kiln.Recurrent;
import dev.kiln.Tensor;

/**
 * Long short-term memory, as PyTorch's {@code nn.LSTM}: with gates i, f, g, o (stacked in that order in the
 * weights) {@code c' = f c + i g}, {@code h' = o tanh(c')}, where i, f, o are sigmoids and g is a tanh of
 * {@code W_i* x + b_i* + W_h* h + b_h*}. See {@link RNNBase} for layers, directions, states and lengths.
 */
public final class LSTM extends RNNBase {
    /** ONNX's gate order i, o, f, c taken from PyTorch's i, f, g, o. */
    private static final int[] ONNX_FROM_TORCH = {0, 3, 1, 2};

    /**
     * A one-layer, unidirectional LSTM with biases, time-major.
     *
     * @param inputSize the features of each input step
     * @param hiddenSize the features of the hidden state
     */
    public LSTM(int inputSize, int hiddenSize) { this(inputSize, hiddenSize, Options.defaults()); }

    /**
     * An LSTM with the given layers, direction, biases and layout.
     *
     * @param inputSize the features of each input step
     * @param hiddenSize the features of the hidden state
     * @param options layers, bias, batchFirst, dropout, bidirectional
     */
    public LSTM(int inputSize, int hiddenSize, Options options) { super(inputSize, hiddenSize, options, ONNX_FROM_TORCH); }

    @Override
    Recurrent.Options configure(Recurrent.Options o) { return o; }

    @Override
    Recurrent.Output run(Tensor x, Tensor w, Tensor r, Tensor bias, Tensor h0, Tensor c0, Tensor lengths, Recurrent.Options o) {
        return Recurrent.lstm(x, w, r, bias, null, h0, c0, lengths, o);
    }
}
