package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.kiln.nn.Check.close;
import static dev.kiln.nn.Check.data;
import static dev.kiln.nn.Check.f64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * RNN, LSTM and GRU against a plain-Java step loop written from PyTorch's equations (gates in PyTorch's order,
 * packed-sequence semantics for lengths), and their gradients by finite differences.
 */
class RecurrentModulesTest {

    private static double sigmoid(double v) { return 1 / (1 + Math.exp(-v)); }

    /** The sequences and states of the reference, time-major: x (T, B, in), states (B, H). */
    private record Layer(double[] out, double[] h, double[] c) {}

    /**
     * One direction of one layer in plain Java. kind: "lstm", "gru", "rnn_tanh", "rnn_relu". Each sequence b runs
     * its first lengths[b] steps (backwards for reverse); outputs past them stay 0.
     */
    private static Layer referenceLayer(String kind, double[] x, int steps, int batch, int in, int hid, Map<String, Tensor> p, String sfx,
                                        boolean reverse, int[] lengths, double[] h0, double[] c0) {
        int g = kind.equals("lstm") ? 4 : kind.equals("gru") ? 3 : 1;
        double[] wih = p.get("weight_ih" + sfx).toDoubleArray(), whh = p.get("weight_hh" + sfx).toDoubleArray();
        double[] bih = p.containsKey("bias_ih" + sfx) ? p.get("bias_ih" + sfx).toDoubleArray() : new double[g * hid];
        double[] bhh = p.containsKey("bias_hh" + sfx) ? p.get("bias_hh" + sfx).toDoubleArray() : new double[g * hid];
        // LSTM with proj_size: h = weight_hr (P, H) @ (o * tanh(c)), of size P.
        double[] whr = p.containsKey("weight_hr" + sfx) ? p.get("weight_hr" + sfx).toDoubleArray() : null;
        int hs = whr == null ? hid : whr.length / hid;
        double[] out = new double[steps * batch * hs], hN = new double[batch * hs], cN = new double[batch * hid];
        for (int b = 0; b < batch; b++) {
            double[] h = java.util.Arrays.copyOfRange(h0, b * hs, (b + 1) * hs), c = java.util.Arrays.copyOfRange(c0, b * hid, (b + 1) * hid);
            int len = lengths == null ? steps : lengths[b];
            for (int k = 0; k < len; k++) {
                int t = reverse ? len - 1 - k : k;
                double[] gi = new double[g * hid], gh = new double[g * hid];
                for (int r = 0; r < g * hid; r++) {
                    gi[r] = bih[r];
                    gh[r] = bhh[r];
                    for (int i = 0; i < in; i++) gi[r] += wih[r * in + i] * x[(t * batch + b) * in + i];
                    for (int i = 0; i < hs; i++) gh[r] += whh[r * hs + i] * h[i];
                }
                double[] nh = new double[hid];
                for (int j = 0; j < hid; j++) {
                    switch (kind) {
                        case "lstm" -> {
                            double ig = sigmoid(gi[j] + gh[j]), fg = sigmoid(gi[hid + j] + gh[hid + j]);
                            double gg = Math.tanh(gi[2 * hid + j] + gh[2 * hid + j]), og = sigmoid(gi[3 * hid + j] + gh[3 * hid + j]);
                            c[j] = fg * c[j] + ig * gg;
                            nh[j] = og * Math.tanh(c[j]);
                        }
                        case "gru" -> {
                            double r = sigmoid(gi[j] + gh[j]), z = sigmoid(gi[hid + j] + gh[hid + j]);
                            double n = Math.tanh(gi[2 * hid + j] + r * gh[2 * hid + j]);
                            nh[j] = (1 - z) * n + z * h[j];
                        }
                        case "rnn_tanh" -> nh[j] = Math.tanh(gi[j] + gh[j]);
                        default -> nh[j] = Math.max(0, gi[j] + gh[j]);
                    }
                }
                if (whr != null) {
                    double[] projected = new double[hs];
                    for (int q = 0; q < hs; q++) for (int j = 0; j < hid; j++) projected[q] += whr[q * hid + j] * nh[j];
                    nh = projected;
                }
                h = nh;
                System.arraycopy(h, 0, out, (t * batch + b) * hs, hs);
            }
            System.arraycopy(h, 0, hN, b * hs, hs);
            System.arraycopy(c, 0, cN, b * hid, hid);
        }
        return new Layer(out, hN, cN);
    }

    /** The whole stack in plain Java: time-major output (T, B, D*H) and final states (L*D, B, H), as flat arrays. */
    private static double[][] reference(String kind, RNNBase m, double[] x, int steps, int batch, int[] lengths, double[] h0, double[] c0) {
        int hid = m.hiddenSize(), dirs = m.options().bidirectional() ? 2 : 1, layers = m.options().numLayers();
        Map<String, Tensor> p = m.namedParameters();
        int out = p.containsKey("weight_hr_l0") ? p.get("weight_hr_l0").size(0) : hid;
        double[] hN = new double[layers * dirs * batch * out], cN = new double[layers * dirs * batch * hid];
        int in = m.inputSize();
        for (int layer = 0; layer < layers; layer++) {
            double[] next = new double[steps * batch * dirs * out];
            for (int d = 0; d < dirs; d++) {
                int slot = (layer * dirs + d) * batch * out, cslot = (layer * dirs + d) * batch * hid;
                double[] hs = h0 == null ? new double[batch * out] : java.util.Arrays.copyOfRange(h0, slot, slot + batch * out);
                double[] cs = c0 == null ? new double[batch * hid] : java.util.Arrays.copyOfRange(c0, cslot, cslot + batch * hid);
                Layer r = referenceLayer(kind, x, steps, batch, in, hid, p, "_l" + layer + (d == 1 ? "_reverse" : ""), d == 1, lengths, hs, cs);
                for (int tb = 0; tb < steps * batch; tb++) System.arraycopy(r.out(), tb * out, next, (tb * dirs + d) * out, out);
                System.arraycopy(r.h(), 0, hN, slot, batch * out);
                System.arraycopy(r.c(), 0, cN, cslot, batch * hid);
            }
            x = next;
            in = dirs * out;
        }
        return new double[][] {x, hN, cN};
    }

    /** (T, B, F) flat to (B, T, F) flat. */
    private static double[] batchFirst(double[] x, int steps, int batch, int f) {
        double[] y = new double[x.length];
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < batch; b++) System.arraycopy(x, (t * batch + b) * f, y, (b * steps + t) * f, f);
        return y;
    }

    @Test
    void stackedBidirectionalLstmWithStatesAndLengthsMatchesPyTorchEquations() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(11);
            int steps = 4, batch = 3, in = 3, hid = 2, layers = 2, dirs = 2;
            LSTM lstm = new LSTM(in, hid, RNNBase.Options.defaults().withNumLayers(layers).withBidirectional(true));
            dev.kiln.testkit.TestDevice.requireFloat64();
            lstm.to(DType.FLOAT64);
            double[] x = data(1, steps * batch * in, -1, 1), h0 = data(2, layers * dirs * batch * hid, -1, 1), c0 = data(3, h0.length, -1, 1);
            int[] lengths = {4, 1, 3};
            double[][] want = reference("lstm", lstm, x, steps, batch, lengths, h0, c0);
            RNNBase.Output got = lstm.forward(f64(x, steps, batch, in), f64(h0, layers * dirs, batch, hid), f64(c0, layers * dirs, batch, hid),
                    Tensor.of(new long[] {4, 1, 3}, 3));
            Check.assertShape(new int[] {steps, batch, dirs * hid}, got.output());
            close(want[0], got.output().toDoubleArray(), 1e-12, "lstm output");
            close(want[1], got.hidden().toDoubleArray(), 1e-12, "lstm final hidden");
            close(want[2], got.cell().toDoubleArray(), 1e-12, "lstm final cell");
            // Full lengths equal no lengths.
            double[][] full = reference("lstm", lstm, x, steps, batch, null, null, null);
            close(full[0], lstm.forward(f64(x, steps, batch, in)).toDoubleArray(), 1e-12, "lstm without lengths");
            assertEquals(List.of("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse", "weight_hh_l0_reverse",
                    "bias_ih_l0_reverse", "bias_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1", "weight_ih_l1_reverse",
                    "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"), List.copyOf(lstm.namedParameters().keySet()));
            Check.assertShape(new int[] {4 * hid, dirs * hid}, lstm.namedParameters().get("weight_ih_l1_reverse"));
        }
    }

    @Test
    void lstmWithProjectionMatchesPyTorchEquations() {
        dev.kiln.testkit.TestDevice.requireFloat64(); // a float64 reference model
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(15);
            int steps = 4, batch = 3, in = 3, hid = 4, proj = 2, layers = 2, dirs = 2;
            LSTM lstm = new LSTM(in, hid, proj, RNNBase.Options.defaults().withNumLayers(layers).withBidirectional(true));
            lstm.to(DType.FLOAT64);
            Check.assertShape(new int[] {4 * hid, proj}, lstm.namedParameters().get("weight_hh_l0"));
            Check.assertShape(new int[] {proj, hid}, lstm.namedParameters().get("weight_hr_l1_reverse"));
            Check.assertShape(new int[] {4 * hid, dirs * proj}, lstm.namedParameters().get("weight_ih_l1"));
            double[] x = data(1, steps * batch * in, -1, 1), h0 = data(2, layers * dirs * batch * proj, -1, 1), c0 = data(3, layers * dirs * batch * hid, -1, 1);
            double[][] want = reference("lstm", lstm, x, steps, batch, new int[] {4, 1, 3}, h0, c0);
            RNNBase.Output got = lstm.forward(f64(x, steps, batch, in), f64(h0, layers * dirs, batch, proj), f64(c0, layers * dirs, batch, hid),
                    Tensor.of(new long[] {4, 1, 3}, 3));
            Check.assertShape(new int[] {steps, batch, dirs * proj}, got.output());
            Check.assertShape(new int[] {layers * dirs, batch, hid}, got.cell());
            close(want[0], got.output().toDoubleArray(), 1e-12, "projected lstm output");
            close(want[1], got.hidden().toDoubleArray(), 1e-12, "projected lstm final hidden");
            close(want[2], got.cell().toDoubleArray(), 1e-12, "projected lstm final cell");
            close(reference("lstm", lstm, x, steps, batch, null, null, null)[0], lstm.forward(f64(x, steps, batch, in)).toDoubleArray(), 1e-12,
                    "projected lstm without lengths or states");
            LSTM small = new LSTM(2, 3, 2, RNNBase.Options.defaults());
            Check.moduleGrads("projected lstm", small, f64(data(4, 3 * 2 * 2, -1, 1), 3, 2, 2).requiresGrad(true), small::forward);
            assertThrows(IllegalArgumentException.class, () -> new LSTM(2, 3, 3, RNNBase.Options.defaults()));
        }
    }

    @Test
    void batchFirstGruAndRnnMatchPyTorchEquations() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(12);
            int steps = 3, batch = 2, in = 2, hid = 3;
            GRU gru = new GRU(in, hid, RNNBase.Options.defaults().withNumLayers(2).withBatchFirst(true).withBidirectional(true));
            dev.kiln.testkit.TestDevice.requireFloat64();
            gru.to(DType.FLOAT64);
            double[] x = data(4, steps * batch * in, -1, 1), h0 = data(5, 4 * batch * hid, -1, 1);
            int[] lengths = {2, 3};
            double[][] want = reference("gru", gru, x, steps, batch, lengths, h0, null);
            RNNBase.Output got = gru.forward(f64(batchFirst(x, steps, batch, in), batch, steps, in), f64(h0, 4, batch, hid), null, Tensor.of(new int[] {2, 3}, 2));
            close(batchFirst(want[0], steps, batch, 2 * hid), got.output().toDoubleArray(), 1e-12, "gru output (batch first)");
            close(want[1], got.hidden().toDoubleArray(), 1e-12, "gru final hidden");
            assertEquals(null, got.cell());

            RNN relu = new RNN(in, hid, RNN.Nonlinearity.RELU, RNNBase.Options.defaults().withNumLayers(2).withBias(false));
            dev.kiln.testkit.TestDevice.requireFloat64();
            relu.to(DType.FLOAT64);
            close(reference("rnn_relu", relu, x, steps, batch, null, null, null)[0], relu.forward(f64(x, steps, batch, in)).toDoubleArray(), 1e-12, "relu rnn");
            RNN tanh = new RNN(in, hid);
            dev.kiln.testkit.TestDevice.requireFloat64();
            tanh.to(DType.FLOAT64);
            double[] one = java.util.Arrays.copyOfRange(x, 0, steps * in);
            // Unbatched (T, in) input is one sequence of a batch of one.
            RNNBase.Output unbatched = tanh.forward(f64(one, steps, in), null, null);
            double[][] ref = reference("rnn_tanh", tanh, one, steps, 1, null, null, null);
            close(ref[0], unbatched.output().toDoubleArray(), 1e-12, "unbatched rnn");
            Check.assertShape(new int[] {1, hid}, unbatched.hidden());
        }
    }

    @Test
    void dropoutActsBetweenLayersOnlyInTraining() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(13);
            int steps = 3, batch = 2, in = 2, hid = 2;
            LSTM lstm = new LSTM(in, hid, RNNBase.Options.defaults().withNumLayers(2).withDropout(1.0));
            dev.kiln.testkit.TestDevice.requireFloat64();
            lstm.to(DType.FLOAT64);
            double[] x = data(6, steps * batch * in, -1, 1);
            lstm.eval();
            close(reference("lstm", lstm, x, steps, batch, null, null, null)[0], lstm.forward(f64(x, steps, batch, in)).toDoubleArray(), 1e-12, "eval: no dropout");
            // Dropping everything leaves layer 1 a zero input: its output is layer 1 run alone on zeros.
            lstm.train();
            Layer zeroInput = referenceLayer("lstm", new double[steps * batch * hid], steps, batch, hid, hid, lstm.namedParameters(), "_l1", false, null,
                    new double[batch * hid], new double[batch * hid]);
            close(zeroInput.out(), lstm.forward(f64(x, steps, batch, in)).toDoubleArray(), 1e-12, "train: dropout p=1 between layers");
        }
    }

    @Test
    void gradientsReachInputsWeightsAndInitialStates() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(14);
            int steps = 3, batch = 2, in = 2, hid = 2;
            Tensor lengths = Tensor.of(new long[] {3, 2}, 2);
            LSTM lstm = new LSTM(in, hid, RNNBase.Options.defaults().withNumLayers(2).withBidirectional(true));
            Check.moduleGrads("bidirectional 2-layer lstm with lengths", lstm, f64(data(7, steps * batch * in, -1, 1), steps, batch, in).requiresGrad(true),
                    t -> lstm.forward(t, null, null, lengths).output());
            GRU gru = new GRU(in, hid, RNNBase.Options.defaults().withBidirectional(true).withBatchFirst(true));
            Check.moduleGrads("bidirectional gru", gru, f64(data(8, steps * batch * in, -1, 1), batch, steps, in).requiresGrad(true), gru::forward);
            RNN rnn = new RNN(in, hid);
            Check.moduleGrads("rnn", rnn, f64(data(9, steps * batch * in, -1, 1), steps, batch, in).requiresGrad(true), rnn::forward);
            LSTM one = new LSTM(in, hid);
            dev.kiln.testkit.TestDevice.requireFloat64();
            one.to(DType.FLOAT64);
            Tensor x = f64(data(10, steps * batch * in, -1, 1), steps, batch, in);
            Check.grads("lstm initial states", t -> {
                RNNBase.Output o = one.forward(x, t[0], t[1], lengths);
                return Tensor.cat(List.of(o.output().flatten(0, -1), o.hidden().flatten(0, -1), o.cell().flatten(0, -1)), 0);
            }, f64(data(11, batch * hid, -1, 1), 1, batch, hid).requiresGrad(true), f64(data(12, batch * hid, -1, 1), 1, batch, hid).requiresGrad(true));
        }
    }

    /** Full-length LSTM sequences take the single-node path through all steps (no lengths, peepholes or clip). */
    @Test
    void fullLengthLstmGradientsReachInputsWeightsAndInitialStates() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(15);
            int steps = 4, batch = 2, in = 3, hid = 2;
            LSTM lstm = new LSTM(in, hid, RNNBase.Options.defaults().withNumLayers(2).withBidirectional(true));
            Check.moduleGrads("bidirectional 2-layer lstm", lstm, f64(data(16, steps * batch * in, -1, 1), steps, batch, in).requiresGrad(true), lstm::forward);
            LSTM one = new LSTM(in, hid);
            dev.kiln.testkit.TestDevice.requireFloat64();
            one.to(DType.FLOAT64);
            Tensor x = f64(data(17, steps * batch * in, -1, 1), steps, batch, in);
            Check.grads("lstm initial states, full length", t -> {
                RNNBase.Output o = one.forward(x, t[0], t[1]);
                return Tensor.cat(List.of(o.output().flatten(0, -1), o.hidden().flatten(0, -1), o.cell().flatten(0, -1)), 0);
            }, f64(data(18, batch * hid, -1, 1), 1, batch, hid).requiresGrad(true), f64(data(19, batch * hid, -1, 1), 1, batch, hid).requiresGrad(true));
        }
    }

    @Test
    void badInputsAreRefusedWithTheirShapes() {
        try (Scope s = Scope.open()) {
            GRU gru = new GRU(2, 3, RNNBase.Options.defaults().withNumLayers(2));
            Tensor x = Tensor.zeros(4, 1, 2);
            assertThrows(IllegalArgumentException.class, () -> gru.forward(x, null, Tensor.zeros(2, 1, 3)), "GRU has no cell state");
            assertThrows(IllegalArgumentException.class, () -> gru.forward(x, Tensor.zeros(1, 1, 3), null), "h0 needs one row per layer");
            assertThrows(IllegalArgumentException.class, () -> gru.forward(Tensor.zeros(4, 1, 5)), "wrong feature size");
            assertThrows(IllegalArgumentException.class, () -> gru.forward(x, null, null, Tensor.zeros(2)), "lengths must be integers");
            assertThrows(IllegalArgumentException.class, () -> new LSTM(2, 3, RNNBase.Options.defaults().withNumLayers(0)));
            IllegalArgumentException noSteps = assertThrows(IllegalArgumentException.class, () -> gru.forward(Tensor.zeros(0, 1, 2)));
            assertTrue(noSteps.getMessage().contains("[0, 1, 2]"), noSteps.getMessage());
        }
    }

    @Test
    void anEmptyBatchGivesEmptyOutputsAndGradients() {
        try (Scope s = Scope.open()) {
            for (RNNBase rnn : List.of(new LSTM(2, 16, RNNBase.Options.defaults().withNumLayers(2)),
                    new GRU(2, 3, RNNBase.Options.defaults().withNumLayers(2)))) {
                Tensor x = Tensor.zeros(3, 0, 2).requiresGrad(true);
                Tensor y = rnn.forward(x);
                y.sum().backward();
                assertArrayEquals(new int[] {3, 0, rnn instanceof LSTM ? 16 : 3}, y.shape());
                assertArrayEquals(new int[] {3, 0, 2}, x.grad().shape());
            }
        }
    }
}
