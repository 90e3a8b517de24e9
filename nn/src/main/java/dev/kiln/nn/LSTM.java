package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Recurrent;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.List;

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

    /**
     * With PyTorch's {@code proj_size}: h is projected to {@code projSize} after every step.
     *
     * @param inputSize the features of each input step
     * @param hiddenSize the features of the cell state
     * @param projSize the features of the projected hidden state, 0 &lt; projSize &lt; hiddenSize
     * @param options layers, bias, batchFirst, dropout, bidirectional
     */

    public LSTM(int inputSize, int hiddenSize, int projSize, Options options) { super(inputSize, hiddenSize, projSize, options, ONNX_FROM_TORCH); }

    @Override
    Recurrent.Options configure(Recurrent.Options o) { return o; }

    @Override
    Recurrent.Output run(Tensor x, Tensor w, Tensor r, Tensor bias, Tensor h0, Tensor c0, Tensor lengths, Recurrent.Options o) {
        return Recurrent.lstm(x, w, r, bias, null, h0, c0, lengths, o);
    }

    /**
     * One layer with a projection, step by step (the fused {@link Recurrent#lstm} has no projection): w (D, 4H, I),
     * r (D, 4H, P), bias (D, 8H) or null in ONNX's gate order i, o, f, c; proj (D, P, H); states (D, B, P) and
     * (D, B, H) or null. A step past a sequence's length leaves its state alone and outputs 0.
     */
    Recurrent.Output runProjected(Tensor x, Tensor w, Tensor r, Tensor bias, Tensor proj, Tensor h0, Tensor c0, Tensor lengths) {
        int steps = x.size(0), batch = x.size(1), dirs = w.size(0), h = hiddenSize, p = projSize;
        List<Tensor> outputs = new ArrayList<>(), hiddens = new ArrayList<>(), cells = new ArrayList<>();
        for (int d = 0; d < dirs; d++) {
            Tensor wd = w.select(0, d), rd = r.select(0, d), pd = proj.select(0, d);
            Tensor b = bias == null ? null : bias.select(0, d).narrow(0, 0, 4 * h).add(bias.select(0, d).narrow(0, 4 * h, 4 * h));
            Tensor hs = h0 == null ? Tensor.zeros(x.dtype(), x.device(), batch, p) : h0.select(0, d);
            Tensor cs = c0 == null ? Tensor.zeros(x.dtype(), x.device(), batch, h) : c0.select(0, d);
            Tensor[] out = new Tensor[steps];
            for (int k = 0; k < steps; k++) {
                int t = d == 0 ? k : steps - 1 - k;
                Tensor gates = Functional.linear(x.select(0, t), wd, b).add(hs.matmul(rd.t()));
                Tensor i = gates.narrow(1, 0, h).sigmoid(), o = gates.narrow(1, h, h).sigmoid();
                Tensor f = gates.narrow(1, 2 * h, h).sigmoid(), g = gates.narrow(1, 3 * h, h).tanh();
                Tensor c = f.mul(cs).add(i.mul(g));
                Tensor hn = o.mul(c.tanh()).matmul(pd.t());
                if (lengths == null) {
                    cs = c;
                    hs = hn;
                    out[t] = hn;
                } else {
                    Tensor valid = lengths.gt(t).reshape(batch, 1);
                    cs = Tensor.where(valid, c, cs);
                    hs = Tensor.where(valid, hn, hs);
                    out[t] = hn.maskedFill(valid.logicalNot(), 0);
                }
            }
            outputs.add(Tensor.stack(List.of(out), 0));
            hiddens.add(hs);
            cells.add(cs);
        }
        return new Recurrent.Output(Tensor.stack(outputs, 1), Tensor.stack(hiddens, 0), Tensor.stack(cells, 0));
    }
}
