package dev.kiln;

import dev.kiln.autograd.GradMode;
import dev.kiln.backend.Backend;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.List;

/**
 * Recurrent layers run over whole sequences: Elman RNN, GRU and LSTM, with the weight layout, gate order and
 * options of the ONNX RNN, GRU and LSTM operators, so a model exported from any framework runs unchanged.
 * Everything is composed from differentiable tensor ops (one input projection per direction for the whole
 * sequence, then one small matmul per step), so gradients flow to inputs, weights, biases, peepholes and initial
 * states.
 *
 * <p>Shapes (T steps, B batch, I inputs, H hidden, D = 1 or 2 directions, G gates: 1 RNN, 3 GRU, 4 LSTM):
 * <ul>
 * <li>input (T, B, I), or (B, T, I) with {@link Options#batchFirst};
 * <li>w (D, G*H, I) and r (D, G*H, H): input and recurrence weights, gates stacked in the order
 *     i (RNN); z, r, h (GRU); i, o, f, c (LSTM);
 * <li>bias (D, 2*G*H): input biases then recurrence biases, same gate order; may be null (zero);
 * <li>peephole (D, 3*H) for LSTM, gates i, o, f; may be null;
 * <li>h0, c0 (D, B, H), or (B, D, H) with batchFirst; null for zeros;
 * <li>sequenceLengths (B) integers: steps at or past a sequence's length leave its state unchanged and output 0;
 *     the reverse direction of a shorter sequence starts at its own last step. Null for all T.
 * </ul>
 * The result's output is (T, D, B, H), or (B, T, D, H) with batchFirst; hidden and cell are the final states,
 * (D, B, H) or (B, D, H).
 */
public final class Recurrent {
    private Recurrent() {}

    /** Which way the sequences run. */
    public enum Direction {
        /** First step to last. */
        FORWARD,
        /** Last step to first. */
        REVERSE,
        /** Both, outputs concatenated (forward first). */
        BIDIRECTIONAL;

        int count() { return this == BIDIRECTIONAL ? 2 : 1; }
    }

    /**
     * A gate or cell activation with its parameters (alpha, beta), as ONNX's recurrent ops name them.
     *
     * @param kind the function
     * @param alpha its first parameter, where it takes one
     * @param beta its second parameter, where it takes one
     */
    public record Activation(Kind kind, double alpha, double beta) {
        /** The functions ONNX's recurrent ops name. */
        public enum Kind {
            /** {@code max(0, x)}. */
            RELU,
            /** {@code tanh(x)}. */
            TANH,
            /** {@code 1 / (1 + e^-x)}. */
            SIGMOID,
            /** {@code alpha * x + beta}. */
            AFFINE,
            /** {@code x} where positive, else {@code alpha * x}. */
            LEAKY_RELU,
            /** {@code x} where above alpha, else 0. */
            THRESHOLDED_RELU,
            /** {@code alpha * tanh(beta * x)}. */
            SCALED_TANH,
            /** {@code clamp(alpha * x + beta, 0, 1)}. */
            HARD_SIGMOID,
            /** {@code x} where positive, else {@code alpha * (e^x - 1)}. */
            ELU,
            /** {@code x / (1 + |x|)}. */
            SOFTSIGN,
            /** {@code log(1 + e^x)}. */
            SOFTPLUS;

            /**
             * Whether the activation reads alpha / beta (the others ignore them).
             *
             * @return whether alpha is read
             */
            public boolean usesAlpha() { return this == AFFINE || this == LEAKY_RELU || this == THRESHOLDED_RELU || this == SCALED_TANH || this == HARD_SIGMOID || this == ELU; }

            /**
             * {@return whether the activation reads beta}
             */
            public boolean usesBeta() { return this == AFFINE || this == SCALED_TANH || this == HARD_SIGMOID; }

            /**
             * ONNX's defaults for alpha and beta.
             *
             * @return the default alpha
             */
            public double defaultAlpha() {
                return switch (this) {
                    case LEAKY_RELU -> 0.01;
                    case HARD_SIGMOID -> 0.2;
                    default -> 1.0;
                };
            }

            /**
             * {@return ONNX's default beta}
             */
            public double defaultBeta() { return this == HARD_SIGMOID ? 0.5 : this == SCALED_TANH ? 1.0 : 0.0; }
        }

        /**
         * {@code tanh}.
         */
        public static final Activation TANH = of(Kind.TANH);
        /**
         * The logistic sigmoid.
         */
        public static final Activation SIGMOID = of(Kind.SIGMOID);
        /**
         * {@code max(0, x)}.
         */
        public static final Activation RELU = of(Kind.RELU);

        /**
         * The activation with ONNX's default parameters.
         *
         * @param kind the function
         * @return the activation
         */
        public static Activation of(Kind kind) { return new Activation(kind, kind.defaultAlpha(), kind.defaultBeta()); }

        /**
         * Applies the activation elementwise.
         *
         * @param x the pre-activation
         * @return the activation, differentiable
         */
        public Tensor apply(Tensor x) {
            return switch (kind) {
                case RELU -> x.relu();
                case TANH -> x.tanh();
                case SIGMOID -> x.sigmoid();
                case AFFINE -> x.mul(alpha).add(beta);
                case LEAKY_RELU -> x.leakyRelu(alpha);
                case THRESHOLDED_RELU -> Tensor.where(x.gt(alpha), x, Tensor.zerosLike(x));
                case SCALED_TANH -> x.mul(beta).tanh().mul(alpha);
                case HARD_SIGMOID -> x.mul(alpha).add(beta).clamp(0, 1);
                case ELU -> x.elu(alpha);
                case SOFTSIGN -> x.div(x.abs().add(1));
                case SOFTPLUS -> x.softplus();
            };
        }
    }

    /**
     * Options beyond the tensors. {@code activations}: empty for the defaults (RNN tanh; GRU sigmoid, tanh; LSTM
     * sigmoid, tanh, tanh), else that many per direction (forward first), or one direction's set used for both.
     * {@code clip}: pre-activations are clamped to [-clip, clip]; infinity for none. {@code linearBeforeReset}
     * (GRU): apply the reset gate after the recurrence matmul. {@code inputForget} (LSTM): couple the forget gate
     * to the input gate, f = 1 - i.
     *
     * @param direction forward, reverse or both
     * @param batchFirst whether tensors are batch-first
     * @param activations the activations, or empty for the defaults
     * @param clip the clamp on pre-activations, infinity for none
     * @param linearBeforeReset (GRU) whether the reset gate applies after the recurrence matmul
     * @param inputForget (LSTM) whether the forget gate is {@code 1 - i}
     */
    public record Options(Direction direction, boolean batchFirst, List<Activation> activations, double clip,
                          boolean linearBeforeReset, boolean inputForget) {
        /**
         * Copies the activations and checks the clip.
         *
         * @throws IllegalArgumentException if clip is not positive
         */
        public Options {
            activations = List.copyOf(activations);
            if (!(clip > 0)) throw new IllegalArgumentException("recurrent: clip must be positive (infinity for none), got " + clip);
        }

        /**
         * {@return forward, time-major, default activations, no clip, no variants}
         */
        public static Options defaults() { return new Options(Direction.FORWARD, false, List.of(), Double.POSITIVE_INFINITY, false, false); }

        /**
         * With another direction.
         *
         * @param d the direction
         * @return these options with that change
         */
        public Options withDirection(Direction d) { return new Options(d, batchFirst, activations, clip, linearBeforeReset, inputForget); }

        /**
         * Batch-first or time-major.
         *
         * @param b whether tensors are batch-first
         * @return these options with that change
         */
        public Options withBatchFirst(boolean b) { return new Options(direction, b, activations, clip, linearBeforeReset, inputForget); }

        /**
         * With other activations.
         *
         * @param a the activations
         * @return these options with that change
         */
        public Options withActivations(List<Activation> a) { return new Options(direction, batchFirst, a, clip, linearBeforeReset, inputForget); }

        /**
         * With another clip.
         *
         * @param c the clamp, infinity for none
         * @return these options with that change
         */
        public Options withClip(double c) { return new Options(direction, batchFirst, activations, c, linearBeforeReset, inputForget); }

        /**
         * With or without GRU's linear-before-reset.
         *
         * @param b whether the reset gate applies after the matmul
         * @return these options with that change
         */
        public Options withLinearBeforeReset(boolean b) { return new Options(direction, batchFirst, activations, clip, b, inputForget); }

        /**
         * With or without LSTM's coupled input and forget gates.
         *
         * @param b whether the forget gate is coupled
         * @return these options with that change
         */
        public Options withInputForget(boolean b) { return new Options(direction, batchFirst, activations, clip, linearBeforeReset, b); }
    }

    /**
     * All steps' hidden states, and the final hidden and (LSTM only, else null) cell states.
     *
     * @param output every step's hidden state
     * @param hidden the final hidden state
     * @param cell the final cell state (LSTM), else null
     */
    public record Output(Tensor output, Tensor hidden, Tensor cell) {}

    /**
     * An Elman RNN over the sequences (ONNX's RNN).
     *
     * @param input the sequences (T, B, I), or (B, T, I) with batchFirst
     * @param w the input weights (D, H, I)
     * @param r the recurrence weights (D, H, H)
     * @param bias the biases (D, 2*H), or null
     * @param h0 the initial hidden state, or null
     * @param sequenceLengths each sequence's length (B), or null
     * @param options direction, layout, activations, clip and variants
     * @return the outputs and final states
     * @throws IllegalArgumentException if the shapes do not fit
     */
    public static Output rnn(Tensor input, Tensor w, Tensor r, Tensor bias, Tensor h0, Tensor sequenceLengths, Options options) {
        return run(Cell.RNN, input, w, r, bias, null, h0, null, sequenceLengths, options);
    }

    /**
     * A GRU over the sequences (ONNX's GRU).
     *
     * @param input the sequences (T, B, I), or (B, T, I) with batchFirst
     * @param w the input weights (D, 3*H, I)
     * @param r the recurrence weights (D, 3*H, H)
     * @param bias the biases (D, 6*H), or null
     * @param h0 the initial hidden state, or null
     * @param sequenceLengths each sequence's length (B), or null
     * @param options direction, layout, activations, clip and variants
     * @return the outputs and final states
     * @throws IllegalArgumentException if the shapes do not fit
     */
    public static Output gru(Tensor input, Tensor w, Tensor r, Tensor bias, Tensor h0, Tensor sequenceLengths, Options options) {
        return run(Cell.GRU, input, w, r, bias, null, h0, null, sequenceLengths, options);
    }

    /**
     * An LSTM over the sequences (ONNX's LSTM).
     *
     * @param input the sequences (T, B, I), or (B, T, I) with batchFirst
     * @param w the input weights (D, 4*H, I)
     * @param r the recurrence weights (D, 4*H, H)
     * @param bias the biases (D, 8*H), or null
     * @param peephole the peephole weights (D, 3*H), or null
     * @param h0 the initial hidden state, or null
     * @param c0 the initial cell state, or null
     * @param sequenceLengths each sequence's length (B), or null
     * @param options direction, layout, activations, clip and variants
     * @return the outputs and final states
     * @throws IllegalArgumentException if the shapes do not fit
     */
    public static Output lstm(Tensor input, Tensor w, Tensor r, Tensor bias, Tensor peephole, Tensor h0, Tensor c0,
                              Tensor sequenceLengths, Options options) {
        return run(Cell.LSTM, input, w, r, bias, peephole, h0, c0, sequenceLengths, options);
    }

    private enum Cell {
        RNN(1, List.of(Activation.TANH)),
        GRU(3, List.of(Activation.SIGMOID, Activation.TANH)),
        LSTM(4, List.of(Activation.SIGMOID, Activation.TANH, Activation.TANH));

        final int gates;
        final List<Activation> defaults;

        Cell(int gates, List<Activation> defaults) {
            this.gates = gates;
            this.defaults = defaults;
        }

        String opName() { return name().toLowerCase(); }
    }

    /** One direction's weights: w and r transposed for x @ w, the two biases (null when absent), peepholes. */
    private record Weights(Tensor wT, Tensor rT, Tensor wb, Tensor rb, Tensor peephole, List<Activation> acts) {}

    private static Output run(Cell cell, Tensor x, Tensor w, Tensor r, Tensor bias, Tensor peephole, Tensor h0, Tensor c0,
                              Tensor lengths, Options o) {
        String op = cell.opName();
        int dirs = o.direction().count();
        if (x.dim() != 3) throw new IllegalArgumentException(op + ": input must be 3-D, got " + Elementwise.describe(x));
        int steps = o.batchFirst() ? x.size(1) : x.size(0), batch = o.batchFirst() ? x.size(0) : x.size(1), in = x.size(2);
        // As PyTorch: a sequence of no steps has no last state to return.
        if (steps == 0) throw new IllegalArgumentException(op + ": expected a sequence length above 0, got input " + Elementwise.describe(x));
        if (r.dim() != 3 || r.size(0) != dirs || r.size(1) % cell.gates != 0)
            throw new IllegalArgumentException(op + ": recurrence weight must be (" + dirs + ", " + cell.gates + "*hidden, hidden), got " + Elementwise.describe(r));
        int hidden = r.size(2), gh = cell.gates * hidden;
        check(op, "recurrence weight", r, dirs, gh, hidden);
        check(op, "input weight", w, dirs, gh, in);
        if (bias != null) check(op, "bias", bias, dirs, 2 * gh);
        if (peephole != null) check(op, "peephole", peephole, dirs, 3 * hidden);
        int[] stateShape = o.batchFirst() ? new int[] {batch, dirs, hidden} : new int[] {dirs, batch, hidden};
        if (h0 != null) check(op, "initial hidden state", h0, stateShape);
        if (c0 != null) check(op, "initial cell state", c0, stateShape);
        if (lengths != null) check(op, "sequence lengths", lengths, batch);
        int perDir = cell.defaults.size();
        List<Activation> acts = o.activations().isEmpty() ? cell.defaults : o.activations();
        if (acts.size() != perDir && acts.size() != perDir * dirs)
            throw new IllegalArgumentException(op + ": expected " + perDir + " or " + perDir * dirs + " activations, got " + acts.size());
        try (Scope scope = Scope.open()) {
            Tensor xs = o.batchFirst() ? x.transpose(0, 1) : x;
            Tensor h0s = h0 == null ? null : o.batchFirst() ? h0.transpose(0, 1) : h0;
            Tensor c0s = c0 == null ? null : o.batchFirst() ? c0.transpose(0, 1) : c0;
            // valid[t] is (B, 1): whether step t lies within each sequence.
            Tensor valid = lengths == null ? null
                    : Tensor.arange(0, steps, 1, DType.INT64, x.device()).unsqueeze(1).lt(lengths.to(DType.INT64).unsqueeze(0)).unsqueeze(2);
            List<Tensor> outputs = new ArrayList<>(), hiddens = new ArrayList<>(), cells = new ArrayList<>();
            for (int d = 0; d < dirs; d++) {
                boolean reverse = o.direction() == Direction.REVERSE || d == 1;
                Tensor b = bias == null ? null : bias.select(0, d);
                List<Activation> dirActs = acts.size() == perDir ? acts : acts.subList(d * perDir, (d + 1) * perDir);
                Tensor wT = w.select(0, d).t(), rT = r.select(0, d).t(), dirPeephole = peephole == null ? null : peephole.select(0, d);
                Tensor h = h0s == null ? Tensor.zeros(x.dtype(), x.device(), batch, hidden) : h0s.select(0, d);
                Tensor c = cell != Cell.LSTM ? null : c0s == null ? Tensor.zeros(x.dtype(), x.device(), batch, hidden) : c0s.select(0, d);
                if (cell != Cell.LSTM && fusable(cell, dirPeephole, dirActs, valid, o) && sameType(xs, wT, h, rT) && (b == null || sameType(xs, b))) {
                    StepRule rule = cell == Cell.GRU ? new GruStep(steps, hidden) : new RnnStep(dirActs.get(0).equals(Activation.RELU));
                    Tensor[] yh = recurrence(rule, xs, wT, b == null ? null : b.narrow(0, 0, gh), b == null ? null : b.narrow(0, gh, gh), h, rT, reverse);
                    outputs.add(yh[0]);
                    hiddens.add(yh[1]);
                    continue;
                }
                if (cell == Cell.LSTM && fusable(cell, dirPeephole, dirActs, valid, o) && sameType(xs, wT, h, c, rT) && (b == null || sameType(xs, b))) {
                    // Both biases summed once, added inside the sequence kernel rather than in a pass over the projection.
                    Tensor biases = b == null ? null : b.narrow(0, 0, gh).add(b.narrow(0, gh, gh));
                    Tensor[] yhc = lstmSequence(xs, wT, biases, h, c, rT, reverse);
                    outputs.add(yhc[0]);
                    hiddens.add(yhc[1]);
                    cells.add(yhc[2]);
                    continue;
                }
                // r^T made row-major once per sequence: every step's h @ r^T then reads it in place, where a
                // transposed view would be packed again at each step.
                Weights wd = new Weights(wT, rT.contiguous(), b == null ? null : b.narrow(0, 0, gh), b == null ? null : b.narrow(0, gh, gh),
                        dirPeephole, dirActs);
                Tensor projected = xs.matmul(wd.wT);
                if (wd.wb != null) projected = projected.add(wd.wb);
                Tensor[] ys = new Tensor[steps], inputs = stepsOf(projected);
                for (int k = 0; k < steps; k++) {
                    int t = reverse ? steps - 1 - k : k;
                    Tensor[] next = step(cell, inputs[t], h, c, wd, hidden, o);
                    Tensor hNew = next[0], cNew = next[1];
                    if (valid != null) {
                        Tensor m = valid.select(0, t);
                        ys[t] = Tensor.where(m, hNew, Tensor.zerosLike(hNew));
                        hNew = Tensor.where(m, hNew, h);
                        if (c != null) cNew = Tensor.where(m, cNew, c);
                    } else {
                        ys[t] = hNew;
                    }
                    h = hNew;
                    c = cNew;
                }
                outputs.add(Tensor.stack(List.of(ys), 0));
                hiddens.add(h);
                if (c != null) cells.add(c);
            }
            // One direction's outputs as a view (T, 1, B, H): stacked, they were copied once here and again by
            // contiguous() below, two passes over the whole sequence per layer.
            Tensor y = outputs.size() == 1 ? outputs.get(0).unsqueeze(1) : Tensor.stack(outputs, 1);
            Tensor yh = Tensor.stack(hiddens, 0);
            Tensor yc = cells.isEmpty() ? null : Tensor.stack(cells, 0);
            if (o.batchFirst()) {
                y = y.permute(2, 0, 1, 3);
                yh = yh.transpose(0, 1);
                if (yc != null) yc = yc.transpose(0, 1);
            }
            return new Output(scope.keep(y.contiguous()), scope.keep(yh.contiguous()), yc == null ? null : scope.keep(yc.contiguous()));
        }
    }

    /** One step: the new hidden state and (LSTM) cell state from this step's projected input gx (B, G*H). */
    private static Tensor[] step(Cell cell, Tensor gx, Tensor h, Tensor c, Weights w, int hidden, Options o) {
        List<Activation> a = w.acts;
        return switch (cell) {
            case RNN -> new Tensor[] {a.get(0).apply(clip(withBias(gx.add(h.matmul(w.rT)), w.rb), o)), null};
            case GRU -> {
                // Gates z, r, h. The candidate's recurrence term is (r * h) @ Rh + Rbh, or r * (h @ Rh + Rbh).
                Tensor rzr = w.rT.narrow(1, 0, 2 * hidden), rh = w.rT.narrow(1, 2 * hidden, hidden);
                Tensor rbzr = w.rb == null ? null : w.rb.narrow(0, 0, 2 * hidden), rbh = w.rb == null ? null : w.rb.narrow(0, 2 * hidden, hidden);
                Tensor zr = a.get(0).apply(clip(withBias(gx.narrow(1, 0, 2 * hidden).add(h.matmul(rzr)), rbzr), o));
                Tensor z = zr.narrow(1, 0, hidden), rg = zr.narrow(1, hidden, hidden);
                Tensor recur = o.linearBeforeReset() ? rg.mul(withBias(h.matmul(rh), rbh)) : withBias(rg.mul(h).matmul(rh), rbh);
                Tensor candidate = a.get(1).apply(clip(gx.narrow(1, 2 * hidden, hidden).add(recur), o));
                yield new Tensor[] {z.rsub(1).mul(candidate).add(z.mul(h)), null};
            }
            case LSTM -> {
                // Gates i, o, f, c; peepholes i, o, f look at the previous cell (i, f) and the new one (o).
                Tensor g = withBias(gx.add(h.matmul(w.rT)), w.rb);
                Tensor p = w.peephole;
                Tensor gi = g.narrow(1, 0, hidden), go = g.narrow(1, hidden, hidden), gf = g.narrow(1, 2 * hidden, hidden), gc = g.narrow(1, 3 * hidden, hidden);
                Tensor i = a.get(0).apply(clip(p == null ? gi : gi.add(p.narrow(0, 0, hidden).mul(c)), o));
                Tensor f = o.inputForget() ? i.rsub(1) : a.get(0).apply(clip(p == null ? gf : gf.add(p.narrow(0, 2 * hidden, hidden).mul(c)), o));
                Tensor cNew = f.mul(c).add(i.mul(a.get(1).apply(clip(gc, o))));
                Tensor out = a.get(0).apply(clip(p == null ? go : go.add(p.narrow(0, hidden, hidden).mul(cNew)), o));
                yield new Tensor[] {out.mul(a.get(2).apply(cNew)), cNew};
            }
        };
    }

    /**
     * Whether a direction is one that runs as a single node, {@link #lstmSequence} or {@link #recurrence}: no peepholes,
     * clip, coupled gates or lengths; the default activations (or relu for the RNN); for the GRU, the reset gate after
     * the product.
     */
    private static boolean fusable(Cell cell, Tensor peephole, List<Activation> acts, Tensor valid, Options o) {
        boolean activations = acts.equals(cell.defaults) || cell == Cell.RNN && acts.equals(List.of(Activation.RELU));
        return valid == null && peephole == null && Double.isInfinite(o.clip()) && !o.inputForget() && activations
                && (cell != Cell.GRU || o.linearBeforeReset());
    }

    /**
     * One direction of a plain LSTM over every step as a single autograd node, from the input (T, B, I), the input
     * weight transposed, and the summed biases (or null), returning (outputs (T, B, H), final hidden, final cell), by one
     * {@link Backend#lstmSequence} (each step's recurrence product, bias, gates, activations and state update, fused
     * where the backend can), writing straight into buffers for the whole sequence: the outputs and the final cell
     * (T + 1, B, H), the cells (T, B, H), and for the backward the cells' tanh (T, B, H) and the gate activations
     * (T, B, 4H); without a gradient to take, those two are one step's buffer repeated (stride 0 along T), so
     * inference writes 5H rather than 10H values a step and row to memory. The backend decides whether the input
     * projection is one product over every step or part of each step's tiles. Recorded step by step, each step's
     * slice of the projected input cost its backward a zero-filled gradient of the whole (T, B, 4H) tensor plus an add
     * of it: quadratic in T. Here the backward walks the steps once, in one {@link Backend#lstmSequenceBackward},
     * writing each step's gate gradient into one (T, B, 4H) buffer, and takes the input's and both weights' gradients
     * in one product each over all steps.
     */
    private static Tensor[] lstmSequence(Tensor x, Tensor wT, Tensor bias, Tensor h0, Tensor c0, Tensor rT, boolean reverse) {
        int steps = x.size(0), batch = x.size(1), hidden = rT.size(0);
        DType dtype = x.dtype();
        Backend be = x.backend();
        boolean backward = Autograd.needed(x, wT, bias, h0, c0, rT);
        int kept = backward ? steps : 1;
        Tensor result = Tensor.allocate(be, dtype, steps + 1, batch, hidden);
        Tensor cells = Tensor.allocate(be, dtype, steps, batch, hidden);
        Tensor tanhCells = Tensor.allocate(be, dtype, kept, batch, hidden).expand(steps, batch, hidden);
        Tensor gates = Tensor.allocate(be, dtype, kept, batch, 4 * hidden).expand(steps, batch, 4 * hidden);
        Tensor[] prevH = new Tensor[steps];
        try (GradMode ng = GradMode.noGrad()) {
            be.lstmSequence(x.view, wT.view, bias == null ? null : bias.view, h0.view, c0.view, rT.view, reverse, gates.view, cells.view,
                    tanhCells.view, result.narrow(0, 0, steps).view);
            Reference.reachabilityFence(new Object[] {x, wT, bias, h0, c0, rT});
            for (int k = 0; k < steps; k++) {
                int t = reverse ? steps - 1 - k : k, before = reverse ? t + 1 : t - 1;
                prevH[t] = k == 0 ? h0 : result.select(0, before);
            }
            result.select(0, steps).copy_(cells.select(0, reverse ? 0 : steps - 1));
        }
        List<Tensor> saved = new ArrayList<>(List.of(gates, tanhCells, cells));
        saved.addAll(List.of(prevH));
        Autograd.record("lstm", result, new Tensor[] {x, wT, bias, h0, c0, rT}, gOut -> {
            Tensor dProjected = Tensor.allocate(be, dtype, steps, batch, 4 * hidden);
            Tensor dh0 = Tensor.allocate(be, dtype, batch, hidden), dc0 = Tensor.allocate(be, dtype, batch, hidden);
            Tensor g = gOut.dtype() == dtype ? gOut : gOut.to(dtype);
            be.lstmSequenceBackward(g.narrow(0, 0, steps).view, g.select(0, steps).view, gates.view, c0.view, cells.view, tanhCells.view,
                    rT.view, reverse, dProjected.view, dh0.view, dc0.view);
            Reference.reachabilityFence(new Object[] {g, gates, c0, cells, tanhCells, rT});
            // The weights' gradients are one product each over every step's rows, as the input projection's were.
            Tensor flatGates = dProjected.reshape(-1, 4 * hidden);
            Tensor dX = x.requiresGrad() ? flatGates.matmul(wT.mT()).reshape(x.shape()) : null;
            Tensor dWT = wT.requiresGrad() ? x.reshape(-1, x.size(2)).mT().matmul(flatGates) : null;
            Tensor dR = rT.requiresGrad() ? Tensor.stack(List.of(prevH), 0).reshape(-1, hidden).mT().matmul(flatGates) : null;
            Tensor dBias = bias != null && bias.requiresGrad() ? flatGates.sum(0) : null;
            return new Tensor[] {dX, dWT, dBias, dh0, dc0, dR};
        }, saved.toArray(new Tensor[0]));
        return new Tensor[] {result.narrow(0, 0, steps), result.select(0, reverse ? 0 : steps - 1), result.select(0, steps)};
    }

    /**
     * One direction of a plain RNN or GRU (see {@link StepRule}) as a single autograd node, from the input (T, B, I), the
     * input weight transposed, the input and recurrence biases (G*H each, or null), returning (outputs (T, B, H), final
     * hidden). The input projection is one product over every step, with the recurrence bias added to it once where it
     * adds to a pre-activation; each step is then its product h @ r^T (r^T made row-major once, read in place) and the
     * cell's few elementwise ops, run without recording. The backward walks the steps once, the cell writing each step's
     * pre-activation gradients into two (T, B, G*H) buffers, the input projection's and the recurrence product's, and
     * takes the input's and both weights' and biases' gradients in one product or sum each over all steps. Recorded op
     * by op, a GRU step was some twenty nodes, and each step's products with the weight added a gradient of the whole
     * weight to the others.
     */
    private static Tensor[] recurrence(StepRule rule, Tensor x, Tensor wT, Tensor wb, Tensor rb, Tensor h0, Tensor rT, boolean reverse) {
        int steps = x.size(0), batch = x.size(1), hidden = rT.size(0), width = rT.size(1), added = rule.projectedBias(hidden);
        DType dtype = x.dtype();
        Backend be = x.backend();
        Tensor[] prevH = new Tensor[steps], ys = new Tensor[steps];
        Tensor rRows, y;
        try (GradMode ng = GradMode.noGrad()) {
            Tensor rTRows = rT.contiguous();
            rRows = rT.mT().contiguous();
            Tensor projected = x.matmul(wT);
            if (wb != null) projected = projected.add(wb);
            if (rb != null) projected.narrow(2, 0, added).add_(rb.narrow(0, 0, added));
            Tensor rest = rb == null || added == width ? null : rb.narrow(0, added, width - added);
            Tensor h = h0;
            for (int k = 0; k < steps; k++) {
                int t = reverse ? steps - 1 - k : k;
                prevH[t] = h;
                h = ys[t] = rule.forward(t, projected.select(0, t), h.matmul(rTRows), rest, h);
            }
            y = Tensor.stack(List.of(ys), 0);
        }
        List<Tensor> saved = new ArrayList<>(List.of(rRows, y));
        saved.addAll(List.of(prevH));
        saved.addAll(rule.saved());
        Autograd.record(rule.name(), y, new Tensor[] {x, wT, wb, rb, h0, rT}, gOut -> {
            Tensor dInput = Tensor.allocate(be, dtype, steps, batch, width), dRecurrent = Tensor.allocate(be, dtype, steps, batch, width);
            Tensor g = gOut.dtype() == dtype ? gOut : gOut.to(dtype);
            Tensor carry = null;
            for (int k = steps - 1; k >= 0; k--) {
                int t = reverse ? steps - 1 - k : k;
                try (Scope step = Scope.open()) {
                    Tensor dh = carry == null ? g.select(0, t) : g.select(0, t).add(carry);
                    Tensor direct = rule.backward(t, dh, prevH[t], y.select(0, t), dInput.select(0, t), dRecurrent.select(0, t));
                    Tensor throughProduct = dRecurrent.select(0, t).matmul(rRows);
                    carry = step.keep(direct == null ? throughProduct : throughProduct.add(direct));
                }
            }
            Tensor flatInput = dInput.reshape(-1, width), flatRecurrent = dRecurrent.reshape(-1, width);
            Tensor dX = x.requiresGrad() ? flatInput.matmul(wT.mT()).reshape(x.shape()) : null;
            Tensor dWT = wT.requiresGrad() ? x.reshape(-1, x.size(2)).mT().matmul(flatInput) : null;
            Tensor dWb = wb != null && wb.requiresGrad() ? flatInput.sum(0) : null;
            Tensor dRb = rb != null && rb.requiresGrad() ? flatRecurrent.sum(0) : null;
            Tensor dR = rT.requiresGrad() ? Tensor.stack(List.of(prevH), 0).reshape(-1, hidden).mT().matmul(flatRecurrent) : null;
            return new Tensor[] {dX, dWT, dWb, dRb, carry, dR};
        }, saved.toArray(new Tensor[0]));
        return new Tensor[] {y, y.select(0, reverse ? 0 : steps - 1)};
    }

    /**
     * One cell's step for {@link #recurrence}: the forward keeps what its backward reads, per step.
     */
    private sealed interface StepRule permits RnnStep, GruStep {
        /** The op's name in the graph. */
        String name();

        /** Leading columns of the recurrence bias that add to a pre-activation, so go into the input projection once. */
        int projectedBias(int units);

        /**
         * Step t's new hidden state from its projected input gx (B, G*H, biases added), the recurrence product gh = h @ r^T
         * (B, G*H), the recurrence bias's remaining columns (or null) and the hidden state h the step starts from.
         */
        Tensor forward(int t, Tensor gx, Tensor gh, Tensor rest, Tensor h);

        /**
         * Step t's backward from the gradient dh of its new hidden state (next), given the state it started from (h):
         * writes the gradients of the projected input's and the recurrence product's pre-activations (B, G*H) into
         * {@code dInput} and {@code dRecurrent}, and returns the gradient reaching h other than through the product
         * (null for none).
         */
        Tensor backward(int t, Tensor dh, Tensor h, Tensor next, Tensor dInput, Tensor dRecurrent);

        /** The tensors the backward reads besides the states. */
        List<Tensor> saved();
    }

    /** The Elman RNN: h' = tanh(gx + gh), or relu(gx + gh). */
    private record RnnStep(boolean relu) implements StepRule {
        @Override public String name() { return "rnn"; }

        @Override public int projectedBias(int units) { return units; }

        @Override
        public Tensor forward(int t, Tensor gx, Tensor gh, Tensor rest, Tensor h) {
            Tensor pre = gx.add(gh);
            return relu ? pre.relu() : pre.tanh();
        }

        @Override
        public Tensor backward(int t, Tensor dh, Tensor h, Tensor next, Tensor dInput, Tensor dRecurrent) {
            Tensor dPre = relu ? Tensor.where(next.gt(0), dh, Tensor.zerosLike(dh)) : dh.mul(next.mul(next).rsub(1));
            dInput.copy_(dPre);
            dRecurrent.copy_(dPre);
            return null;
        }

        @Override public List<Tensor> saved() { return List.of(); }
    }

    /**
     * The GRU with the reset gate applied after the recurrence product (PyTorch's GRU, ONNX's linear_before_reset), gates
     * z, r, h: z, r = sigmoid(gx + gh) over the first 2H columns, n = tanh(gx_h + r * (gh_h + rb_h)), h' = n + z (h - n).
     * The pre-activation gradients of the two products differ in the candidate's block only, by the factor r.
     */
    private record GruStep(int hidden, Tensor[] gates, Tensor[] candidates, Tensor[] recurrentTerms) implements StepRule {
        GruStep(int steps, int hidden) { this(hidden, new Tensor[steps], new Tensor[steps], new Tensor[steps]); }

        @Override public String name() { return "gru"; }

        @Override public int projectedBias(int units) { return 2 * units; }

        @Override
        public Tensor forward(int t, Tensor gx, Tensor gh, Tensor rest, Tensor h) {
            Tensor zr = gx.narrow(1, 0, 2 * hidden).add(gh.narrow(1, 0, 2 * hidden)).sigmoid();
            Tensor term = withBias(gh.narrow(1, 2 * hidden, hidden), rest);
            Tensor n = gx.narrow(1, 2 * hidden, hidden).add(zr.narrow(1, hidden, hidden).mul(term)).tanh();
            gates[t] = zr;
            candidates[t] = n;
            recurrentTerms[t] = term;
            return n.add(zr.narrow(1, 0, hidden).mul(h.sub(n)));
        }

        @Override
        public Tensor backward(int t, Tensor dh, Tensor h, Tensor next, Tensor dInput, Tensor dRecurrent) {
            Tensor zr = gates[t], n = candidates[t], z = zr.narrow(1, 0, hidden);
            Tensor dPreN = dh.mul(z.rsub(1)).mul(n.mul(n).rsub(1));
            Tensor dZr = Tensor.cat(List.of(dh.mul(h.sub(n)), dPreN.mul(recurrentTerms[t])), 1);
            Tensor dPreZr = dZr.mul(zr).mul(zr.rsub(1));
            dInput.narrow(1, 0, 2 * hidden).copy_(dPreZr);
            dInput.narrow(1, 2 * hidden, hidden).copy_(dPreN);
            dRecurrent.narrow(1, 0, 2 * hidden).copy_(dPreZr);
            dRecurrent.narrow(1, 2 * hidden, hidden).copy_(dPreN.mul(zr.narrow(1, hidden, hidden)));
            return dh.mul(z);
        }

        @Override
        public List<Tensor> saved() {
            List<Tensor> all = new ArrayList<>(List.of(gates));
            all.addAll(List.of(candidates));
            all.addAll(List.of(recurrentTerms));
            return all;
        }
    }

    /**
     * The steps of a (T, ...) sequence as T tensors whose gradients are stacked once. Taken with select, each step's
     * backward would build a zero-filled gradient of the whole sequence and add it to the others: quadratic in T.
     * Here each step's rule keeps its gradient and passes a scalar zero to one node for the whole sequence, which
     * the backward pass reaches after all the steps (it feeds them all) and which stacks what they kept.
     */
    private static Tensor[] stepsOf(Tensor sequence) {
        int steps = sequence.size(0);
        Tensor[] out = new Tensor[steps];
        if (!Autograd.needed(sequence)) {
            for (int t = 0; t < steps; t++) out[t] = sequence.select(0, t);
            return out;
        }
        DType dtype = sequence.dtype();
        Device device = sequence.device();
        int[] stepShape = java.util.Arrays.copyOfRange(sequence.shape(), 1, sequence.dim());
        Tensor[] kept = new Tensor[steps];
        Tensor whole;
        try (GradMode ng = GradMode.noGrad()) {
            whole = Tensor.zeros(dtype, device);
            for (int t = 0; t < steps; t++) out[t] = sequence.select(0, t);
        }
        Autograd.record("sequence_steps", whole, sequence, g -> {
            List<Tensor> rows = new ArrayList<>(steps);
            for (Tensor k : kept) rows.add(k != null ? k : Tensor.zeros(dtype, device, stepShape));
            Tensor all = Tensor.stack(rows, 0);
            for (int t = 0; t < steps; t++) {
                if (kept[t] != null) kept[t].close();
                kept[t] = null;
            }
            return new Tensor[] {all};
        });
        for (int t = 0; t < steps; t++) {
            int step = t;
            Autograd.record("sequence_step", out[t], whole, g -> {
                kept[step] = g.retainedAlias();
                return new Tensor[] {Tensor.zeros(dtype, device)};
            });
        }
        return out;
    }

    /** Whether the tensors share one floating dtype and one device, as the backend's fused cell needs. */
    private static boolean sameType(Tensor first, Tensor... others) {
        for (Tensor t : others)
            if (t.dtype() != first.dtype() || !t.device().equals(first.device())) return false;
        return first.dtype().isFloatingPoint();
    }

    private static Tensor withBias(Tensor x, Tensor b) { return b == null ? x : x.add(b); }

    private static Tensor clip(Tensor x, Options o) { return Double.isInfinite(o.clip()) ? x : x.clamp(-o.clip(), o.clip()); }

    private static void check(String op, String what, Tensor t, int... shape) {
        if (!java.util.Arrays.equals(t.shape(), shape))
            throw new IllegalArgumentException(op + ": " + what + " must have shape " + Shapes.str(shape) + ", got " + Elementwise.describe(t));
    }
}
