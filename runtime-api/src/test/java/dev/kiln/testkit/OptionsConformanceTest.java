package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.Pool2dSpec;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** PyTorch options of existing functions: softplus beta/threshold, avg_pool2d divisor_override, conv2d "same"/"valid". */
class OptionsConformanceTest {

    @BackendTest
    void softplusWithBetaAndThreshold(TestDevice device) {
        device.activate();
        double[] x = data(6, 24, -4, 4);
        for (double[] bt : new double[][] {{2, 20}, {0.5, 1}, {3, 5}}) {
            double beta = bt[0], threshold = bt[1];
            double[] expected = Ref.map(x, v -> beta * v > threshold ? v : Math.log1p(Math.exp(beta * v)) / beta);
            for (DType dt : Ref.floatingTypes())
                try (Scope s = Scope.open()) {
                    assertClose(expected, Tensor.of(x, dt, null, 4, 6).softplus(beta, threshold), Ref.rtol(dt), Ref.atol(dt), dt + " beta=" + beta + " threshold=" + threshold);
                }
            // Keep the finite differences off the kink at beta * x = threshold.
            double[] away = Ref.map(x, v -> Math.abs(beta * v - threshold) < 1e-3 ? v + 0.01 : v);
            GradCheck.check("softplus beta=" + beta, t -> t.softplus(beta, threshold), away, 4, 6);
        }
        try (Scope s = Scope.open()) {
            Tensor t = Ref.f64(x, 24);
            assertClose(t.softplus().toDoubleArray(), t.softplus(1, 20), 0, 0, "PyTorch's defaults take the fused kernel");
            assertThrows(IllegalArgumentException.class, () -> t.softplus(0, 20));
        }
    }

    @BackendTest
    void averagePoolingWithADivisorOverride(TestDevice device) {
        device.activate();
        int n = 1, c = 2, h = 5, w = 5;
        double[] x = data(7, n * c * h * w, -1, 1);
        Pool2dSpec spec = Pool2dSpec.of(3, 2, 1);
        int oh = spec.outH(h), ow = spec.outW(w);
        double[] expected = new double[n * c * oh * ow];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double sum = 0;
                    for (int a = 0; a < 3; a++)
                        for (int b = 0; b < 3; b++) {
                            int y = i * 2 - 1 + a, xx = j * 2 - 1 + b;
                            if (y >= 0 && y < h && xx >= 0 && xx < w) sum += x[(ch * h + y) * w + xx];
                        }
                    expected[(ch * oh + i) * ow + j] = sum / 4;
                }
        try (Scope s = Scope.open()) {
            Tensor y = Functional.avgPool2d(Ref.f64(x, n, c, h, w), spec, true, 4);
            assertShape(y, n, c, oh, ow);
            assertClose(expected, y, 1e-12, 1e-12, "divisor_override=4");
            assertClose(expected, Functional.avgPool2d(Ref.f64(x, c, h, w), spec, false, 4), 1e-12, 1e-12, "unbatched, count_include_pad ignored");
            assertThrows(IllegalArgumentException.class, () -> Functional.avgPool2d(Ref.f64(x, n, c, h, w), spec, true, -1));
        }
        GradCheck.check("avg_pool2d divisor_override", t -> Functional.avgPool2d(t, spec, true, 4), x, n, c, h, w);
    }

    @BackendTest
    void convolutionWithSameAndValidPadding(TestDevice device) {
        device.activate();
        int n = 2, c = 2, h = 6, w = 5, cout = 3;
        double[] x = data(8, n * c * h * w, -1, 1);
        for (int[] kd : new int[][] {{3, 1}, {2, 1}, {4, 1}, {2, 2}, {3, 2}}) {
            int k = kd[0], dilation = kd[1];
            double[] wt = data(9 + k, cout * c * k * k, -1, 1), bias = data(3, cout, -1, 1);
            int total = dilation * (k - 1), before = total / 2;
            // Reference: pad on the host (the extra row and column at the end), then a valid convolution.
            int ph = h + total, pw = w + total;
            double[] padded = new double[n * c * ph * pw];
            for (int b = 0; b < n * c; b++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++) padded[(b * ph + i + before) * pw + j + before] = x[(b * h + i) * w + j];
            ConvolutionConformanceTest.Case same = new ConvolutionConformanceTest.Case(n, c, ph, pw, cout, k, k, new Conv2dSpec(1, 1, 0, 0, dilation, dilation, 1));
            ConvolutionConformanceTest.Case valid = new ConvolutionConformanceTest.Case(n, c, h, w, cout, k, k, new Conv2dSpec(1, 1, 0, 0, dilation, dilation, 1));
            String what = "kernel " + k + " dilation " + dilation;
            try (Scope s = Scope.open()) {
                Tensor input = Ref.f64(x, n, c, h, w), weight = Ref.f64(wt, cout, c, k, k), b = Ref.f64(bias, cout);
                Tensor y = Functional.conv2d(input, weight, b, 1, "same", dilation, 1);
                assertShape(y, n, cout, h, w);
                assertClose(ConvolutionConformanceTest.refConv(same, padded, wt, bias), y, 1e-12, 1e-12, "same, " + what);
                assertClose(ConvolutionConformanceTest.refConv(valid, x, wt, bias), Functional.conv2d(input, weight, b, 1, "valid", dilation, 1), 1e-12, 1e-12,
                        "valid, " + what);
            }
            GradCheck.check("conv2d same " + what, ts -> Functional.conv2d(ts[0], ts[1], null, 1, "same", dilation, 1),
                    new double[][] {x, wt}, new int[][] {{n, c, h, w}, {cout, c, k, k}});
        }
        try (Scope s = Scope.open()) {
            Tensor input = Ref.f64(x, n, c, h, w), weight = Ref.f64(data(1, cout * c * 4, -1, 1), cout, c, 2, 2);
            assertThrows(IllegalArgumentException.class, () -> Functional.conv2d(input, weight, null, 2, "same", 1, 1));
            assertThrows(IllegalArgumentException.class, () -> Functional.conv2d(input, weight, null, 1, "full", 1, 1));
        }
    }
}
