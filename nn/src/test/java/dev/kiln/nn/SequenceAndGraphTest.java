package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import static dev.kiln.nn.Check.close;
import static dev.kiln.nn.Check.data;
import static dev.kiln.nn.Check.f64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Recurrent, attention, residual and graph layers: forward against references, gradients by finite differences. */
class SequenceAndGraphTest {

    private static double sigmoid(double v) { return 1 / (1 + Math.exp(-v)); }

    /** W (rows, cols) times v plus b, in plain Java. */
    private static double[] affine(double[] w, double[] b, double[] v, int rows, int cols, int rowOffset) {
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double acc = b[rowOffset + r];
            for (int k = 0; k < cols; k++) acc += w[(rowOffset + r) * cols + k] * v[k];
            out[r] = acc;
        }
        return out;
    }

    @Test
    void lstmMatchesItsEquations() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(1);
            int in = 3, hid = 2, len = 3;
            LSTM lstm = new LSTM(in, hid);
            lstm.to(DType.FLOAT64);
            double[] wih = lstm.namedParameters().get("weight_ih_l0").toDoubleArray(), whh = lstm.namedParameters().get("weight_hh_l0").toDoubleArray();
            double[] bih = lstm.namedParameters().get("bias_ih_l0").toDoubleArray(), bhh = lstm.namedParameters().get("bias_hh_l0").toDoubleArray();
            double[] x = data(2, len * in, -1, 1);
            double[] h = new double[hid], c = new double[hid], expected = new double[len * hid];
            for (int t = 0; t < len; t++) {
                double[] xt = java.util.Arrays.copyOfRange(x, t * in, (t + 1) * in);
                double[] gi = affine(wih, bih, xt, 4 * hid, in, 0), gh = affine(whh, bhh, h, 4 * hid, hid, 0);
                double[] nh = new double[hid];
                for (int j = 0; j < hid; j++) {
                    double i = sigmoid(gi[j] + gh[j]), f = sigmoid(gi[hid + j] + gh[hid + j]);
                    double g = Math.tanh(gi[2 * hid + j] + gh[2 * hid + j]), o = sigmoid(gi[3 * hid + j] + gh[3 * hid + j]);
                    c[j] = f * c[j] + i * g;
                    nh[j] = o * Math.tanh(c[j]);
                }
                h = nh;
                System.arraycopy(h, 0, expected, t * hid, hid);
            }
            Recurrent.Output out = lstm.forward(f64(x, 1, len, in), null, null);
            close(expected, out.output().toDoubleArray(), 1e-12, "lstm outputs");
            close(c, out.cell().toDoubleArray(), 1e-12, "lstm final cell");
            Check.moduleGrads("lstm", lstm, f64(data(3, 2 * len * in, -1, 1), 2, len, in).requiresGrad(true), lstm::forward);
        }
    }

    @Test
    void gruMatchesItsEquationsAndRnnHasGradients() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(2);
            int in = 2, hid = 3;
            GRU gru = new GRU(in, hid);
            gru.to(DType.FLOAT64);
            double[] wih = gru.namedParameters().get("weight_ih_l0").toDoubleArray(), whh = gru.namedParameters().get("weight_hh_l0").toDoubleArray();
            double[] bih = gru.namedParameters().get("bias_ih_l0").toDoubleArray(), bhh = gru.namedParameters().get("bias_hh_l0").toDoubleArray();
            double[] x = {0.5, -1.0};
            double[] h = {0.1, -0.2, 0.3};
            double[] gi = affine(wih, bih, x, 3 * hid, in, 0), gh = affine(whh, bhh, h, 3 * hid, hid, 0);
            double[] expected = new double[hid];
            for (int j = 0; j < hid; j++) {
                double r = sigmoid(gi[j] + gh[j]), z = sigmoid(gi[hid + j] + gh[hid + j]);
                double n = Math.tanh(gi[2 * hid + j] + r * gh[2 * hid + j]);
                expected[j] = (1 - z) * n + z * h[j];
            }
            Recurrent.Output out = gru.forward(f64(x, 1, 1, in), f64(h, 1, hid), null);
            close(expected, out.hidden().toDoubleArray(), 1e-12, "gru step");
            Check.moduleGrads("gru", gru, f64(data(4, 2 * 3 * in, -1, 1), 2, 3, in).requiresGrad(true), gru::forward);
            RNN rnn = new RNN(in, hid);
            Check.moduleGrads("rnn", rnn, f64(data(5, 2 * 3 * in, -1, 1), 2, 3, in).requiresGrad(true), rnn::forward);
            assertThrows(IllegalArgumentException.class, () -> rnn.forward(f64(x, 1, 2)));
        }
    }

    @Test
    void attentionMatchesSoftmaxReferenceAndRespectsTheCausalMask() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(3);
            MultiheadAttention mha = new MultiheadAttention(4, 2);
            mha.to(DType.FLOAT64);
            for (String p : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
                Linear l = (Linear) mha.children().get(p);
                try (var g = dev.kiln.autograd.GradMode.noGrad()) {
                    l.weight().copy_(Tensor.eye(4, DType.FLOAT64, null));
                    l.bias().zero_();
                }
            }
            // With identity projections, head h sees features [2h, 2h+1]; check one query row by hand.
            double[] x = data(6, 3 * 4, -1, 1);
            double[] y = mha.forward(f64(x, 1, 3, 4)).toDoubleArray();
            for (int head = 0; head < 2; head++) {
                double[] w = new double[3];
                double sum = 0;
                for (int j = 0; j < 3; j++) {
                    double dot = x[2 * head] * x[4 * j + 2 * head] + x[2 * head + 1] * x[4 * j + 2 * head + 1];
                    w[j] = Math.exp(dot / Math.sqrt(2));
                    sum += w[j];
                }
                for (int d = 0; d < 2; d++) {
                    double expected = 0;
                    for (int j = 0; j < 3; j++) expected += w[j] / sum * x[4 * j + 2 * head + d];
                    close(expected, y[2 * head + d], 1e-12, "head " + head + " feature " + d);
                }
            }
            double[] causal = mha.forward(f64(x, 1, 3, 4), f64(x, 1, 3, 4), f64(x, 1, 3, 4), MultiheadAttention.causalMask(3)).toDoubleArray();
            close(java.util.Arrays.copyOfRange(x, 0, 4), java.util.Arrays.copyOfRange(causal, 0, 4), 1e-12, "first position attends only to itself");
            Kiln.manualSeed(4);
            MultiheadAttention fresh = new MultiheadAttention(4, 2);
            Check.moduleGrads("attention", fresh, f64(data(7, 2 * 3 * 4, -1, 1), 2, 3, 4).requiresGrad(true), fresh::forward);
        }
    }

    @Test
    void transformerLayerAndResidualBlockKeepShapesAndGradients() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(5);
            TransformerEncoderLayer layer = new TransformerEncoderLayer(4, 2, 8, 0.0);
            Check.moduleGrads("transformer layer", layer, f64(data(8, 2 * 3 * 4, -1, 1), 2, 3, 4).requiresGrad(true), layer::forward);
            ResidualBlock same = new ResidualBlock(2, 2, 1);
            Check.moduleGrads("residual block", same, f64(data(9, 2 * 2 * 4 * 4, -1, 1), 2, 2, 4, 4).requiresGrad(true), same::forward);
            ResidualBlock down = new ResidualBlock(2, 3, 2);
            Check.assertShape(new int[] {2, 3, 2, 2}, down.forward(Tensor.randn(2, 2, 4, 4)));
            assertEquals(java.util.List.of("body", "shortcut"), java.util.List.copyOf(down.children().keySet()));
        }
    }

    @Test
    void graphConvNormalisesTheAdjacency() {
        try (Scope s = Scope.open()) {
            double[] a = {0, 1, 0, 1, 0, 1, 0, 1, 0};
            Tensor norm = GraphConv.normalizedAdjacency(f64(a, 3, 3));
            double[] deg = {2, 3, 2};
            double[] expected = new double[9];
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) expected[i * 3 + j] = (a[i * 3 + j] + (i == j ? 1 : 0)) / Math.sqrt(deg[i] * deg[j]);
            close(expected, norm.toDoubleArray(), 1e-12, "normalised adjacency");
            Kiln.manualSeed(6);
            GraphConv gc = new GraphConv(2, 3);
            Check.moduleGrads("graph conv", gc, f64(data(10, 3 * 2, -1, 1), 3, 2).requiresGrad(true), x -> gc.forward(x, norm));
        }
    }
}
