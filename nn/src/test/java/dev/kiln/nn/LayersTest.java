package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import org.junit.jupiter.api.Test;

import static dev.kiln.nn.Check.close;
import static dev.kiln.nn.Check.data;
import static dev.kiln.nn.Check.f64;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each layer's forward pass against a plain-Java reference, and its gradients by finite differences. */
class LayersTest {

    @Test
    void linearMatchesReferenceAndGradients() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(1);
            Linear lin = new Linear(3, 2);
            dev.kiln.testkit.TestDevice.requireFloat64();
            lin.to(DType.FLOAT64);
            double[] x = data(1, 4 * 3, -1, 1);
            double[] w = lin.weight().toDoubleArray(), b = lin.bias().toDoubleArray();
            double[] expected = new double[4 * 2];
            for (int n = 0; n < 4; n++)
                for (int o = 0; o < 2; o++) {
                    double acc = b[o];
                    for (int i = 0; i < 3; i++) acc += x[n * 3 + i] * w[o * 3 + i];
                    expected[n * 2 + o] = acc;
                }
            close(expected, lin.forward(f64(x, 4, 3)).toDoubleArray(), 1e-12, "linear");
            Tensor in = f64(x, 4, 3).requiresGrad(true);
            Check.moduleGrads("linear", lin, in, lin::forward);
            double bound = 1 / Math.sqrt(3);
            for (double v : w) assertTrue(Math.abs(v) <= bound, "init within +-1/sqrt(fan_in)");
        }
    }

    /** Direct convolution in six loops. */
    private static double[] conv2dRef(double[] x, int n, int c, int h, int wd, double[] w, int cout, int k, double[] b, int stride, int pad) {
        int oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
        double[] out = new double[n * cout * oh * ow];
        for (int in = 0; in < n; in++)
            for (int o = 0; o < cout; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        double acc = b[o];
                        for (int ci = 0; ci < c; ci++)
                            for (int p = 0; p < k; p++)
                                for (int q = 0; q < k; q++) {
                                    int y = i * stride - pad + p, xx = j * stride - pad + q;
                                    if (y < 0 || y >= h || xx < 0 || xx >= wd) continue;
                                    acc += x[((in * c + ci) * h + y) * wd + xx] * w[((o * c + ci) * k + p) * k + q];
                                }
                        out[((in * cout + o) * oh + i) * ow + j] = acc;
                    }
        return out;
    }

    @Test
    void conv2dMatchesDirectConvolutionAndGradients() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(2);
            Conv2d conv = new Conv2d(2, 3, 3, 2, 1);
            dev.kiln.testkit.TestDevice.requireFloat64();
            conv.to(DType.FLOAT64);
            double[] x = data(2, 2 * 2 * 5 * 5, -1, 1);
            double[] expected = conv2dRef(x, 2, 2, 5, 5, conv.weight().toDoubleArray(), 3, 3, conv.bias().toDoubleArray(), 2, 1);
            Tensor y = conv.forward(f64(x, 2, 2, 5, 5));
            Check.assertShape(new int[] {2, 3, 3, 3}, y);
            close(expected, y.toDoubleArray(), 1e-12, "conv2d");
            Check.moduleGrads("conv2d", conv, f64(data(3, 2 * 2 * 4 * 4, -1, 1), 2, 2, 4, 4).requiresGrad(true), conv::forward);
        }
    }

    @Test
    void convTranspose2dScattersEachInputThroughTheKernel() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(3);
            int n = 2, cin = 2, cout = 3, k = 3, h = 3, wd = 2, stride = 2, pad = 1, outPad = 1;
            ConvTranspose2d deconv = new ConvTranspose2d(cin, cout, k, stride, pad, outPad, 1, true, 1);
            dev.kiln.testkit.TestDevice.requireFloat64();
            deconv.to(DType.FLOAT64);
            Check.assertShape(new int[] {cin, cout, k, k}, deconv.weight());
            double[] x = data(5, n * cin * h * wd, -1, 1), w = deconv.weight().toDoubleArray(), b = deconv.bias().toDoubleArray();
            int oh = (h - 1) * stride - 2 * pad + k + outPad, ow = (wd - 1) * stride - 2 * pad + k + outPad;
            double[] expected = new double[n * cout * oh * ow];
            for (int in = 0; in < n; in++)
                for (int o = 0; o < cout; o++) {
                    for (int i = 0; i < oh * ow; i++) expected[(in * cout + o) * oh * ow + i] = b[o];
                    for (int c = 0; c < cin; c++)
                        for (int i = 0; i < h; i++)
                            for (int j = 0; j < wd; j++)
                                for (int p = 0; p < k; p++)
                                    for (int q = 0; q < k; q++) {
                                        int y = i * stride - pad + p, xx = j * stride - pad + q;
                                        if (y < 0 || y >= oh || xx < 0 || xx >= ow) continue;
                                        expected[((in * cout + o) * oh + y) * ow + xx] += x[((in * cin + c) * h + i) * wd + j] * w[((c * cout + o) * k + p) * k + q];
                                    }
                }
            Tensor y = deconv.forward(f64(x, n, cin, h, wd));
            Check.assertShape(new int[] {n, cout, oh, ow}, y);
            close(expected, y.toDoubleArray(), 1e-12, "conv_transpose2d");
            Check.moduleGrads("conv_transpose2d", deconv, f64(x, n, cin, h, wd).requiresGrad(true), deconv::forward);
            ConvTranspose2d grouped = new ConvTranspose2d(4, 2, 2, 1, 0, 0, 2, false, 2);
            Tensor in = Tensor.randn(1, 4, 3, 3);
            close(dev.kiln.Functional.convTranspose2d(in, grouped.weight(), null, 1, 0, 0, 2, 2).toDoubleArray(), grouped.forward(in).toDoubleArray(), 0,
                    "grouped, dilated: the module is Functional.convTranspose2d");
            Check.assertShape(new int[] {4, 1, 2, 2}, grouped.weight());
            assertThrows(IllegalArgumentException.class, () -> new ConvTranspose2d(3, 2, 2, 1, 0, 0, 2, true, 1));
        }
    }

    @Test
    void poolingMatchesReferenceAndGradients() {
        try (Scope s = Scope.open()) {
            double[] x = data(4, 2 * 4 * 4, -1, 1);
            double[] max = new double[2 * 2 * 2], avg = new double[2 * 2 * 2];
            for (int c = 0; c < 2; c++)
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) {
                        double m = Double.NEGATIVE_INFINITY, sum = 0;
                        for (int p = 0; p < 2; p++)
                            for (int q = 0; q < 2; q++) {
                                double v = x[(c * 4 + 2 * i + p) * 4 + 2 * j + q];
                                m = Math.max(m, v);
                                sum += v;
                            }
                        max[(c * 2 + i) * 2 + j] = m;
                        avg[(c * 2 + i) * 2 + j] = sum / 4;
                    }
            MaxPool2d mp = new MaxPool2d(2);
            AvgPool2d ap = new AvgPool2d(2);
            close(max, mp.forward(f64(x, 1, 2, 4, 4)).toDoubleArray(), 1e-12, "max_pool2d");
            close(avg, ap.forward(f64(x, 1, 2, 4, 4)).toDoubleArray(), 1e-12, "avg_pool2d");
            close(avg, new AdaptiveAvgPool2d(2, 2).forward(f64(x, 1, 2, 4, 4)).toDoubleArray(), 1e-12, "adaptive_avg_pool2d");
            double[] global = {0, 0};
            for (int i = 0; i < x.length; i++) global[i / 16] += x[i] / 16;
            close(global, new AdaptiveAvgPool2d(1, 1).forward(f64(x, 1, 2, 4, 4)).toDoubleArray(), 1e-12, "global average");
            Check.moduleGrads("max_pool2d", mp, f64(x, 1, 2, 4, 4).requiresGrad(true), mp::forward);
            Check.moduleGrads("avg_pool2d", ap, f64(x, 1, 2, 4, 4).requiresGrad(true), ap::forward);
        }
    }

    @Test
    void batchNormNormalisesUpdatesRunningStatsAndUsesThemInEval() {
        try (Scope s = Scope.open()) {
            BatchNorm1d bn = new BatchNorm1d(2);
            dev.kiln.testkit.TestDevice.requireFloat64();
            bn.to(DType.FLOAT64);
            double[] x = {1, 10, 2, 20, 3, 30, 4, 40};
            Tensor y = bn.forward(f64(x, 4, 2));
            double mean0 = 2.5, var0 = 1.25;
            close((1 - mean0) / Math.sqrt(var0 + 1e-5), y.toDoubleArray()[0], 1e-9, "normalised");
            // Running statistics: momentum 0.1 towards the batch mean and the unbiased batch variance.
            close(new double[] {0.25, 2.5}, bn.namedBuffers().get("running_mean").toDoubleArray(), 1e-12, "running mean");
            close(0.9 + 0.1 * (var0 * 4 / 3), bn.namedBuffers().get("running_var").toDoubleArray()[0], 1e-12, "running var");
            assertEquals(1, (long) bn.namedBuffers().get("num_batches_tracked").item());
            bn.eval();
            double rm = 0.25, rv = 0.9 + 0.1 * (var0 * 4 / 3);
            close((1 - rm) / Math.sqrt(rv + 1e-5), bn.forward(f64(x, 4, 2)).toDoubleArray()[0], 1e-9, "eval uses running stats");
            bn.train();
            Check.moduleGrads("batch_norm1d", bn, f64(data(5, 4 * 2, -1, 1), 4, 2).requiresGrad(true), bn::forward);
            BatchNorm2d bn2 = new BatchNorm2d(3);
            Check.moduleGrads("batch_norm2d", bn2, f64(data(6, 2 * 3 * 2 * 2, -1, 1), 2, 3, 2, 2).requiresGrad(true), bn2::forward);
            assertThrows(IllegalArgumentException.class, () -> bn2.forward(f64(x, 4, 2)));
        }
    }

    @Test
    void layerNormMatchesReferenceAndGradients() {
        try (Scope s = Scope.open()) {
            LayerNorm ln = new LayerNorm(3);
            dev.kiln.testkit.TestDevice.requireFloat64();
            ln.to(DType.FLOAT64);
            double[] x = data(7, 2 * 3, -2, 2);
            double[] expected = new double[6];
            for (int r = 0; r < 2; r++) {
                double m = (x[3 * r] + x[3 * r + 1] + x[3 * r + 2]) / 3, v = 0;
                for (int i = 0; i < 3; i++) v += (x[3 * r + i] - m) * (x[3 * r + i] - m) / 3;
                for (int i = 0; i < 3; i++) expected[3 * r + i] = (x[3 * r + i] - m) / Math.sqrt(v + 1e-5);
            }
            close(expected, ln.forward(f64(x, 2, 3)).toDoubleArray(), 1e-9, "layer_norm");
            Check.moduleGrads("layer_norm", ln, f64(x, 2, 3).requiresGrad(true), ln::forward);
        }
    }

    @Test
    void dropoutScalesKeptElementsAndIsIdentityInEval() {
        try (Scope s = Scope.open()) {
            Dropout d = new Dropout(0.5);
            dev.kiln.testkit.TestDevice.requireFloat64();
            Tensor x = Tensor.ones(DType.FLOAT64, null, 10000);
            double[] y = d.forward(x).toDoubleArray();
            int zeros = 0;
            for (double v : y) {
                assertTrue(v == 0 || v == 2, "kept elements are scaled by 1/(1-p)");
                if (v == 0) zeros++;
            }
            assertTrue(zeros > 4700 && zeros < 5300, "about half dropped, got " + zeros);
            d.eval();
            close(x.toDoubleArray(), d.forward(x).toDoubleArray(), 0, "eval is the identity");
            d.train();
            Check.moduleGrads("dropout", d, f64(data(8, 12, -1, 1), 3, 4).requiresGrad(true), d::forward);
            assertThrows(IllegalArgumentException.class, () -> new Dropout(1.5));
        }
    }

    @Test
    void convolutionPoolingAndSoftplusOptions() {
        try (Scope sc = Scope.open()) {
            Kiln.manualSeed(12);
            Conv2d same = new Conv2d(2, 3, 4, 1, "same", 1, 1, true);
            Tensor x = Tensor.randn(DType.FLOAT32, null, 1, 2, 7, 6);
            assertArrayEquals(new int[] {1, 3, 7, 6}, same.forward(x).shape(), "same keeps the size with an even kernel");
            assertTrue(same.toString().contains("padding='same'"), same.toString());
            assertArrayEquals(new int[] {1, 3, 4, 3}, new Conv2d(2, 3, 4, 1, "valid", 1, 1, false).forward(x).shape());
            assertThrows(IllegalArgumentException.class, () -> new Conv2d(2, 3, 3, 2, "same", 1, 1, true));
            assertThrows(IllegalArgumentException.class, () -> new Conv2d(2, 3, 3, 1, "circular", 1, 1, true));

            AvgPool2d pool = new AvgPool2d(dev.kiln.backend.Pool2dSpec.of(2, 2, 0), true, 1);
            Tensor ones = Tensor.ones(1, 1, 4, 4);
            close(new double[] {4, 4, 4, 4}, pool.forward(ones).toDoubleArray(), 0, "divisor_override=1 gives window sums");

            Tensor v = Tensor.of(new double[] {-1, 0, 3}, DType.FLOAT32, null, 3);
            close(v.softplus(2, 5).toDoubleArray(), Activation.softplus(2, 5).forward(v).toDoubleArray(), 0, "Softplus(beta, threshold)");
        }
    }

    @Test
    void dropoutWithItsOwnGeneratorIgnoresOtherDraws() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.ones(DType.FLOAT32, null, 64);
            double[] first = new Dropout(0.5, new dev.kiln.random.Generator(4)).forward(x).toDoubleArray();
            Tensor.rand(100); // draws from the default generator in between
            double[] again = new Dropout(0.5, new dev.kiln.random.Generator(4)).forward(x).toDoubleArray();
            assertArrayEquals(first, again, "same generator seed, same mask");
            dev.kiln.random.Generator g = new dev.kiln.random.Generator(4);
            Dropout shared = new Dropout(0.5, g);
            shared.forward(x);
            assertEquals(64, g.offset(), "the layer's draws advance its generator");
            assertFalse(java.util.Arrays.equals(first, shared.forward(x).toDoubleArray()), "the next mask differs");
        }
    }

    @Test
    void embeddingLooksUpRowsAndAccumulatesGradients() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(3);
            Embedding e = new Embedding(5, 3);
            dev.kiln.testkit.TestDevice.requireFloat64();
            e.to(DType.FLOAT64);
            double[] w = e.weight().toDoubleArray();
            Tensor idx = Tensor.of(new long[] {4, 0, 4}, 3);
            double[] y = e.forward(idx).toDoubleArray();
            for (int j = 0; j < 3; j++) {
                assertEquals(w[12 + j], y[j]);
                assertEquals(w[j], y[3 + j]);
            }
            Check.moduleGrads("embedding", e, idx, e::forward);
        }
    }

    @Test
    void flattenAndActivations() {
        try (Scope s = Scope.open()) {
            Check.assertShape(new int[] {2, 12}, new Flatten().forward(Tensor.zeros(2, 3, 2, 2)));
            double[] x = {-2, -0.5, 0, 0.5, 2};
            double[] relu = new double[5], sig = new double[5], tanh = new double[5], lrelu = new double[5];
            for (int i = 0; i < 5; i++) {
                relu[i] = Math.max(0, x[i]);
                sig[i] = 1 / (1 + Math.exp(-x[i]));
                tanh[i] = Math.tanh(x[i]);
                lrelu[i] = x[i] > 0 ? x[i] : 0.1 * x[i];
            }
            close(relu, Activation.relu().forward(f64(x, 5)).toDoubleArray(), 1e-12, "relu");
            close(sig, Activation.sigmoid().forward(f64(x, 5)).toDoubleArray(), 1e-12, "sigmoid");
            close(tanh, Activation.tanh().forward(f64(x, 5)).toDoubleArray(), 1e-12, "tanh");
            close(lrelu, Activation.leakyRelu(0.1).forward(f64(x, 5)).toDoubleArray(), 1e-12, "leaky relu");
            Activation gelu = Activation.gelu();
            Check.moduleGrads("gelu", gelu, f64(x, 5).requiresGrad(true), gelu::forward);
        }
    }

    @Test
    void sequentialChainsAndKeepsGradients() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(4);
            Sequential net = new Sequential(new Linear(4, 3), Activation.tanh(), new Linear(3, 2));
            Check.moduleGrads("sequential", net, f64(data(9, 8, -1, 1), 2, 4).requiresGrad(true), net::forward);
            try (GradMode g = GradMode.noGrad()) {
                Tensor y = net.forward(f64(data(9, 8, -1, 1), 2, 4));
                Check.assertShape(new int[] {2, 2}, y);
            }
        }
    }
}
