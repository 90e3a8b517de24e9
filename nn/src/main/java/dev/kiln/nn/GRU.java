package dev.kiln.nn;

import dev.kiln.Recurrent;
import dev.kiln.Tensor;

/**
 * Gated recurrent unit, as PyTorch's {@code nn.GRU}: with gates r, z, n (stacked in that order in the weights)
 * {@code r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)}, z likewise, {@code n = tanh(W_in x + b_in + r (W_hn h + b_hn))},
 * {@code h' = (1 - z) n + z h}. The reset gate multiplies the recurrence after its matmul and bias, which is
 * ONNX's {@code linear_before_reset}. See {@link RNNBase} for layers, directions, states and lengths.
 */
public final class GRU extends RNNBase {
    /** ONNX's gate order z, r, h taken from PyTorch's r, z, n. */
    private static final int[] ONNX_FROM_TORCH = {1, 0, 2};

    /**
     * A one-layer, unidirectional GRU with biases, time-major.
     *
     * @param inputSize the features of each input step
     * @param hiddenSize the features of the hidden state
     */
    public GRU(int inputSize, int hiddenSize) { this(inputSize, hiddenSize, Options.defaults()); }

    /**
     * A GRU with the given layers, direction, biases and layout.
     *
     * @param inputSize the features of each input step
     * @param hiddenSize the features of the hidden state
     * @param options layers, bias, batchFirst, dropout, bidirectional
     */
    public GRU(int inputSize, int hiddenSize, Options options) { super(inputSize, hiddenSize, options, ONNX_FROM_TORCH); }

    @Override
    Recurrent.Options configure(Recurrent.Options o) { return o.withLinearBeforeReset(true); }

    @Override
    Recurrent.Output run(Tensor x, Tensor w, Tensor r, Tensor bias, Tensor h0, Tensor c0, Tensor lengths, Recurrent.Options o) {
        return Recurrent.gru(x, w, r, bias, h0, lengths, o);
    }
}
