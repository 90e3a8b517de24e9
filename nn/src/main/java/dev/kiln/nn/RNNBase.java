package dev.kiln.nn;

import dev.kiln.Functional;
import dev.kiln.Recurrent;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * The shared module of {@link RNN}, {@link LSTM} and {@link GRU}, as PyTorch's {@code RNNBase}: stacked layers,
 * optional bidirectionality, batch-first or time-major sequences, initial states and length-masked batches. The
 * sequence math is {@link Recurrent} (runtime-api's ONNX-style recurrent ops); this class holds PyTorch's
 * parameters and converts them per call.
 *
 * <p>Parameters, for layer k and (bidirectional only) the reverse direction with suffix {@code _reverse}:
 * {@code weight_ih_l{k}} (G*hidden, in_k), {@code weight_hh_l{k}} (G*hidden, hidden), {@code bias_ih_l{k}},
 * {@code bias_hh_l{k}} (G*hidden), with in_0 = inputSize and in_k = D*hidden above it, all uniform on
 * +-1/sqrt(hidden). The G gate blocks are stacked in PyTorch's order (LSTM i, f, g, o; GRU r, z, n); each call
 * reorders them into ONNX's order (LSTM i, o, f, c; GRU z, r, h), which {@link Recurrent} expects.
 *
 * <p>Shapes (T steps, B batch, D = 2 if bidirectional else 1, L = numLayers): input (T, B, inputSize), or
 * (B, T, inputSize) with batchFirst, or unbatched (T, inputSize); initial and final states (L*D, B, hidden), or
 * (L*D, hidden) unbatched, layer-major (index layer*D + direction) whatever batchFirst says, as in PyTorch. The
 * output is the last layer's hidden states, directions concatenated: (T, B, D*hidden) or (B, T, D*hidden).
 *
 * <p>LSTM's {@code projSize} (PyTorch's proj_size) projects h after every step with {@code weight_hr_l{k}} (proj,
 * hidden): h, the output and {@code weight_hh} then have proj instead of hidden columns; the cell state keeps hidden.
 *
 * <p>Lengths: a (B) integer tensor makes each sequence end at its own length, as PyTorch's packed sequences do:
 * outputs at and past a sequence's length are 0, the final state is the state after its last valid step, and the
 * reverse direction starts there.
 */
public abstract sealed class RNNBase extends Module permits RNN, LSTM, GRU {
    /**
     * PyTorch's constructor settings beyond the sizes (defaults: 1 layer, biases, time-major, no dropout, one direction).
     *
     * @param numLayers stacked layers, positive
     * @param bias whether the layers have biases
     * @param batchFirst whether inputs are (B, T, F) rather than (T, B, F)
     * @param dropout dropout between layers, in [0, 1]
     * @param bidirectional whether each layer also runs backwards
     */
    public record Options(int numLayers, boolean bias, boolean batchFirst, double dropout, boolean bidirectional) {
        /**
         * Checks the settings.
         *
         * @throws IllegalArgumentException if numLayers is not positive or dropout is not in [0, 1]
         */
        public Options {
            if (numLayers <= 0) throw new IllegalArgumentException("recurrent layer: numLayers must be positive, got " + numLayers);
            if (!(dropout >= 0 && dropout <= 1)) throw new IllegalArgumentException("recurrent layer: dropout must be in [0, 1], got " + dropout);
        }

        /**
         * {@return PyTorch's defaults}
         */
        public static Options defaults() { return new Options(1, true, false, 0, false); }

        /**
         * Another number of stacked layers.
         *
         * @param n the number of layers
         * @return these options with that change
         */
        public Options withNumLayers(int n) { return new Options(n, bias, batchFirst, dropout, bidirectional); }

        /**
         * With or without biases.
         *
         * @param b whether to have biases
         * @return these options with that change
         */
        public Options withBias(boolean b) { return new Options(numLayers, b, batchFirst, dropout, bidirectional); }

        /**
         * Batch-first or time-major inputs.
         *
         * @param b whether inputs are batch-first
         * @return these options with that change
         */
        public Options withBatchFirst(boolean b) { return new Options(numLayers, bias, b, dropout, bidirectional); }

        /**
         * Dropout on each layer's output except the last, in training mode only.
         *
         * @param p the dropout probability
         * @return these options with that change
         */
        public Options withDropout(double p) { return new Options(numLayers, bias, batchFirst, p, bidirectional); }

        /**
         * One or two directions.
         *
         * @param b whether each layer also runs backwards
         * @return these options with that change
         */
        public Options withBidirectional(boolean b) { return new Options(numLayers, bias, batchFirst, dropout, b); }
    }

    /**
     * The output sequence and the final hidden state (L*D, B, hidden); {@code cell} is the final cell state (LSTM only, else null).
     *
     * @param output the last layer's outputs at every step
     * @param hidden the final hidden state of every layer and direction
     * @param cell the final cell state (LSTM), else null
     */
    public record Output(Tensor output, Tensor hidden, Tensor cell) {}

    protected final int inputSize;
    protected final int hiddenSize;
    protected final Options options;
    /** LSTM's proj_size: the size of h after its projection, or 0 for none (then h has hiddenSize). */
    protected final int projSize;
    /** For each ONNX gate block, the PyTorch gate block it is taken from. */
    private final int[] onnxFromTorch;

    RNNBase(int inputSize, int hiddenSize, Options options, int[] onnxFromTorch) { this(inputSize, hiddenSize, 0, options, onnxFromTorch); }

    RNNBase(int inputSize, int hiddenSize, int projSize, Options options, int[] onnxFromTorch) {
        if (inputSize <= 0 || hiddenSize <= 0 || projSize < 0 || projSize >= hiddenSize && projSize != 0)
            throw new IllegalArgumentException(getClass().getSimpleName() + ": sizes must be positive (and projSize below hiddenSize, 0 for none), got input="
                    + inputSize + " hidden=" + hiddenSize + " proj=" + projSize);
        this.inputSize = inputSize;
        this.hiddenSize = hiddenSize;
        this.projSize = projSize;
        this.options = options;
        this.onnxFromTorch = onnxFromTorch.clone();
        int gh = onnxFromTorch.length * hiddenSize, dirs = directions(), out = outputSize();
        for (int layer = 0; layer < options.numLayers(); layer++)
            for (int d = 0; d < dirs; d++) {
                String sfx = suffix(layer, d);
                registerParameter("weight_ih" + sfx, Init.fanInUniform(hiddenSize, gh, layer == 0 ? inputSize : dirs * out));
                registerParameter("weight_hh" + sfx, Init.fanInUniform(hiddenSize, gh, out));
                if (options.bias()) {
                    registerParameter("bias_ih" + sfx, Init.fanInUniform(hiddenSize, gh));
                    registerParameter("bias_hh" + sfx, Init.fanInUniform(hiddenSize, gh));
                }
                if (projSize > 0) registerParameter("weight_hr" + sfx, Init.fanInUniform(hiddenSize, projSize, hiddenSize));
            }
    }

    /** The size of h: projSize when projecting, else hiddenSize. */
    private int outputSize() { return projSize > 0 ? projSize : hiddenSize; }

    private static String suffix(int layer, int direction) { return "_l" + layer + (direction == 1 ? "_reverse" : ""); }

    private int directions() { return options.bidirectional() ? 2 : 1; }

    /**
     * {@return the features of each input step}
     */
    public int inputSize() { return inputSize; }

    /**
     * {@return the features of the hidden state}
     */
    public int hiddenSize() { return hiddenSize; }

    /**
     * {@return the layers, direction, biases and layout}
     */
    public Options options() { return options; }

    /** The output sequence only, from zero initial states. */
    @Override
    public Tensor forward(Tensor input) {
        Output o = forward(input, null, null, null);
        o.hidden().close();
        if (o.cell() != null) o.cell().close();
        return o.output();
    }

    /**
     * Runs full-length sequences from the given states (null for zeros); {@code c0} is for LSTM only.
     *
     * @param input the sequences (T, B, F) or (B, T, F)
     * @param h0 the initial hidden states (L*D, B, hidden), or null
     * @param c0 the initial cell states (LSTM), or null
     * @return the outputs and final states
     */
    public Output forward(Tensor input, Tensor h0, Tensor c0) { return forward(input, h0, c0, null); }

    /**
     * Runs the sequences from the given states (null for zeros; {@code c0} is for LSTM only), each ending at its
     * entry of {@code lengths} (B integers; null when all run the full T steps).
     *
     * @param input the sequences (T, B, F) or (B, T, F)
     * @param h0 the initial hidden states (L*D, B, hidden), or null
     * @param c0 the initial cell states (LSTM), or null
     * @param lengths each sequence's length (B), or null
     * @return the outputs and final states
     * @throws IllegalArgumentException if the shapes or lengths do not fit
     */
    public Output forward(Tensor input, Tensor h0, Tensor c0, Tensor lengths) {
        String name = getClass().getSimpleName();
        boolean lstm = this instanceof LSTM;
        if (c0 != null && !lstm) throw new IllegalArgumentException(name + ": only LSTM takes an initial cell state");
        if (input.dim() != 2 && input.dim() != 3 || input.size(-1) != inputSize)
            throw new IllegalArgumentException(name + ": expected input (T, B, " + inputSize + ")" + (options.batchFirst() ? " batch-first" : "")
                    + " or unbatched (T, " + inputSize + "), got " + java.util.Arrays.toString(input.shape()));
        boolean unbatched = input.dim() == 2;
        int dirs = directions(), layers = options.numLayers();
        try (Scope s = Scope.open()) {
            // Time-major (T, B, I) inside; states (L*D, B, H).
            Tensor x = unbatched ? input.unsqueeze(1) : options.batchFirst() ? input.transpose(0, 1) : input;
            int batch = x.size(1);
            Tensor h = h0 == null ? null : state(name, "h0", h0, unbatched, layers * dirs, batch, outputSize());
            Tensor c = c0 == null ? null : state(name, "c0", c0, unbatched, layers * dirs, batch, hiddenSize);
            if (lengths != null && (lengths.dim() != 1 || lengths.size(0) != batch || lengths.dtype().isFloatingPoint()))
                throw new IllegalArgumentException(name + ": lengths must be " + batch + " integers, got " + lengths.dtype() + " " + java.util.Arrays.toString(lengths.shape()));
            Recurrent.Options ro = Recurrent.Options.defaults()
                    .withDirection(options.bidirectional() ? Recurrent.Direction.BIDIRECTIONAL : Recurrent.Direction.FORWARD);
            ro = configure(ro);
            List<Tensor> hiddens = new ArrayList<>(), cells = new ArrayList<>();
            for (int layer = 0; layer < layers; layer++) {
                if (layer > 0 && options.dropout() > 0) x = Functional.dropout(x, options.dropout(), isTraining());
                List<Tensor> w = new ArrayList<>(), r = new ArrayList<>(), b = new ArrayList<>(), p = new ArrayList<>();
                for (int d = 0; d < dirs; d++) {
                    String sfx = suffix(layer, d);
                    w.add(toOnnx(param("weight_ih" + sfx)));
                    r.add(toOnnx(param("weight_hh" + sfx)));
                    if (options.bias()) b.add(Tensor.cat(List.of(toOnnx(param("bias_ih" + sfx)), toOnnx(param("bias_hh" + sfx))), 0));
                    if (projSize > 0) p.add(param("weight_hr" + sfx));
                }
                Tensor hl = h == null ? null : h.narrow(0, layer * dirs, dirs), cl = c == null ? null : c.narrow(0, layer * dirs, dirs);
                Tensor bias = b.isEmpty() ? null : stackDirections(b);
                Recurrent.Output out = p.isEmpty() ? run(x, stackDirections(w), stackDirections(r), bias, hl, cl, lengths, ro)
                        : ((LSTM) this).runProjected(x, stackDirections(w), stackDirections(r), bias, stackDirections(p), hl, cl, lengths);
                // (T, D, B, H) to (T, B, D*H): the next layer's input.
                x = out.output().transpose(1, 2).reshape(x.size(0), batch, dirs * outputSize());
                hiddens.add(out.hidden());
                if (lstm) cells.add(out.cell());
            }
            Tensor y = unbatched ? x.squeeze(1) : options.batchFirst() ? x.transpose(0, 1).contiguous() : x;
            Tensor hn = Tensor.cat(hiddens, 0), cn = lstm ? Tensor.cat(cells, 0) : null;
            if (unbatched) {
                hn = hn.squeeze(1);
                if (cn != null) cn = cn.squeeze(1);
            }
            return new Output(s.keep(y), s.keep(hn), cn == null ? null : s.keep(cn));
        }
    }

    /** An initial state as (L*D, B, H), checked. */
    private Tensor state(String name, String what, Tensor t, boolean unbatched, int layersTimesDirs, int batch, int size) {
        int[] expected = unbatched ? new int[] {layersTimesDirs, size} : new int[] {layersTimesDirs, batch, size};
        if (!java.util.Arrays.equals(t.shape(), expected))
            throw new IllegalArgumentException(name + ": " + what + " must have shape " + java.util.Arrays.toString(expected)
                    + " (layers*directions, batch, " + (size == hiddenSize ? "hidden" : "proj") + "), got " + java.util.Arrays.toString(t.shape()));
        return unbatched ? t.unsqueeze(1) : t;
    }

    /**
     * One tensor per direction stacked on a new first axis: for one direction a view, since the weights are read
     * again at every forward pass and a copy of each (1 MB at hidden size 256) bought nothing.
     */
    private static Tensor stackDirections(List<Tensor> perDirection) {
        return perDirection.size() == 1 ? perDirection.get(0).unsqueeze(0) : Tensor.stack(perDirection, 0);
    }

    /** A PyTorch-ordered stack of gate blocks (first dimension G*H) in ONNX's order. */
    private Tensor toOnnx(Tensor torchOrdered) {
        if (onnxFromTorch.length == 1) return torchOrdered;
        List<Tensor> blocks = new ArrayList<>(onnxFromTorch.length);
        for (int g : onnxFromTorch) blocks.add(torchOrdered.narrow(0, g * hiddenSize, hiddenSize));
        return Tensor.cat(blocks, 0);
    }

    /** The cell's settings on top of the direction (activations, GRU's reset placement). */
    abstract Recurrent.Options configure(Recurrent.Options o);

    /** One layer in ONNX's layout: w (D, G*H, I), r (D, G*H, H), bias (D, 2*G*H) or null, states (D, B, H) or null. */
    abstract Recurrent.Output run(Tensor x, Tensor w, Tensor r, Tensor bias, Tensor h0, Tensor c0, Tensor lengths, Recurrent.Options o);

    @Override
    protected String describe() {
        return getClass().getSimpleName() + "(" + inputSize + ", " + hiddenSize + (options.numLayers() != 1 ? ", num_layers=" + options.numLayers() : "")
                + (options.bias() ? "" : ", bias=false") + (options.batchFirst() ? ", batch_first=true" : "")
                + (options.dropout() != 0 ? ", dropout=" + options.dropout() : "") + (options.bidirectional() ? ", bidirectional=true" : "")
                + (projSize > 0 ? ", proj_size=" + projSize : "") + extraDescription() + ")";
    }

    String extraDescription() { return ""; }
}
