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

/** Residual, graph, capsule and Transformer-XL layers: forward against references, gradients by finite differences. */
class SequenceAndGraphTest {

    @Test
    void residualBlockKeepsShapesAndGradients() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(5);
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

    @Test
    void capsuleRoutingMatchesAHandWrittenReference() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(7);
            int in = 3, inDim = 2, out = 2, outDim = 2, rounds = 3;
            CapsuleLayer caps = new CapsuleLayer(in, inDim, out, outDim, rounds);
            dev.kiln.testkit.TestDevice.requireFloat64();
            caps.to(DType.FLOAT64);
            try (var g = dev.kiln.autograd.GradMode.noGrad()) {
                caps.namedParameters().get("weight").copy_(f64(data(11, in * out * outDim * inDim, -1, 1), in, out, outDim, inDim));
            }
            double[] w = caps.namedParameters().get("weight").toDoubleArray();
            double[] u = data(12, in * inDim, -1, 1);
            double[][][] votes = new double[in][out][outDim];
            for (int i = 0; i < in; i++)
                for (int j = 0; j < out; j++)
                    for (int d = 0; d < outDim; d++)
                        for (int k = 0; k < inDim; k++) votes[i][j][d] += w[((i * out + j) * outDim + d) * inDim + k] * u[i * inDim + k];
            double[][] logits = new double[in][out];
            double[][] v = new double[out][outDim];
            for (int round = 0; round < rounds; round++) {
                double[][] sv = new double[out][outDim];
                for (int i = 0; i < in; i++) {
                    double z = 0;
                    for (int j = 0; j < out; j++) z += Math.exp(logits[i][j]);
                    for (int j = 0; j < out; j++)
                        for (int d = 0; d < outDim; d++) sv[j][d] += Math.exp(logits[i][j]) / z * votes[i][j][d];
                }
                for (int j = 0; j < out; j++) {
                    double n2 = 0;
                    for (int d = 0; d < outDim; d++) n2 += sv[j][d] * sv[j][d];
                    for (int d = 0; d < outDim; d++) v[j][d] = sv[j][d] * n2 / (1 + n2) / Math.sqrt(n2 + 1e-12);
                }
                for (int i = 0; i < in; i++)
                    for (int j = 0; j < out; j++)
                        for (int d = 0; d < outDim; d++) logits[i][j] += votes[i][j][d] * v[j][d];
            }
            double[] expected = {v[0][0], v[0][1], v[1][0], v[1][1]};
            close(expected, caps.forward(f64(u, 1, in, inDim)).toDoubleArray(), 1e-12, "capsule routing");
            Check.moduleGrads("capsules", caps, f64(data(13, 2 * in * inDim, -1, 1), 2, in, inDim).requiresGrad(true), caps::forward);
        }
    }

    /** Row-major (rows, e) times the transpose of a (e, e) weight, in plain Java. */
    private static double[] project(double[] x, int rows, double[] w, int e) {
        double[] out = new double[rows * e];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < e; o++)
                for (int k = 0; k < e; k++) out[r * e + o] += x[r * e + k] * w[o * e + k];
        return out;
    }

    @Test
    void transformerXlAttentionMatchesADirectSumOverRelativePositions() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(8);
            int e = 4, h = 2, hd = 2, len = 2, mem = 2, keys = mem + len;
            RelativeMultiheadAttention att = new RelativeMultiheadAttention(e, h);
            dev.kiln.testkit.TestDevice.requireFloat64();
            att.to(DType.FLOAT64);
            try (var g = dev.kiln.autograd.GradMode.noGrad()) {
                att.namedParameters().get("u_bias").copy_(f64(data(20, h * hd, -1, 1), h, hd));
                att.namedParameters().get("v_bias").copy_(f64(data(21, h * hd, -1, 1), h, hd));
            }
            java.util.Map<String, Tensor> p = att.namedParameters();
            double[] x = data(22, len * e, -1, 1), m = data(23, mem * e, -1, 1);
            double[] ctx = new double[keys * e];
            System.arraycopy(m, 0, ctx, 0, mem * e);
            System.arraycopy(x, 0, ctx, mem * e, len * e);
            double[] q = project(x, len, p.get("q_proj.weight").toDoubleArray(), e);
            double[] k = project(ctx, keys, p.get("k_proj.weight").toDoubleArray(), e);
            double[] v = project(ctx, keys, p.get("v_proj.weight").toDoubleArray(), e);
            dev.kiln.testkit.TestDevice.requireFloat64();
            double[] r = project(RelativeMultiheadAttention.sinusoid(keys, e, DType.FLOAT64).toDoubleArray(), keys, p.get("r_proj.weight").toDoubleArray(), e);
            double[] u = p.get("u_bias").toDoubleArray(), vb = p.get("v_bias").toDoubleArray();
            double[] attended = new double[len * e];
            for (int head = 0; head < h; head++)
                for (int i = 0; i < len; i++) {
                    double[] w = new double[keys];
                    double z = 0;
                    for (int j = 0; j <= mem + i; j++) {
                        int dist = mem + i - j;
                        double score = 0;
                        for (int d = 0; d < hd; d++) {
                            int f = head * hd + d;
                            score += (q[i * e + f] + u[f]) * k[j * e + f] + (q[i * e + f] + vb[f]) * r[dist * e + f];
                        }
                        w[j] = Math.exp(score / Math.sqrt(hd));
                        z += w[j];
                    }
                    for (int d = 0; d < hd; d++) {
                        int f = head * hd + d;
                        for (int j = 0; j <= mem + i; j++) attended[i * e + f] += w[j] / z * v[j * e + f];
                    }
                }
            double[] expected = project(attended, len, p.get("out_proj.weight").toDoubleArray(), e);
            double[] bias = p.get("out_proj.bias").toDoubleArray();
            for (int i = 0; i < expected.length; i++) expected[i] += bias[i % e];
            close(expected, att.forward(f64(x, 1, len, e), f64(m, 1, mem, e)).toDoubleArray(), 1e-12, "transformer-xl attention");
            Tensor memory = f64(m, 1, mem, e);
            Check.moduleGrads("transformer-xl attention", att, f64(x, 1, len, e).requiresGrad(true), t -> att.forward(t, memory));
        }
    }
}
