package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static dev.kiln.testkit.Ref.f64;

/**
 * Options added for ONNX semantics beside their PyTorch defaults: clamp with min > max, max over an empty set,
 * batch norm with a biased running variance, layer norm returning its statistics. Each checked against host
 * float64 loops, with gradients where they are differentiable.
 */
class OnnxDrivenOptionsConformanceTest {

    @BackendTest
    void clampWithCrossedBoundsAndMaxOverNothing(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = f64(new double[] {-3, 0, 5}, 3);
            assertClose(new double[] {1, 1, 1}, x.clamp(2, 1), 0, 0, "min > max gives max everywhere");
            Tensor empty = Tensor.zeros(2, 0, 3);
            Tensor m = empty.amax(new int[] {1}, true);
            assertShape(m, 2, 1, 3);
            assertClose(new double[] {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY,
                    Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY}, m, 0, 0, "amax over an empty set");
            assertClose(new double[] {Double.POSITIVE_INFINITY}, Tensor.zeros(0).amin(new int[] {0}, false).reshape(1), 0, 0, "amin over an empty set");
        }
        GradCheck.check("clamp with min > max has no gradient", x -> x.clamp(0.5, -0.5), data(1, 6, -1, 1), 6);
    }

    @BackendTest
    void batchNormWithBiasedRunningVariance(TestDevice device) {
        device.activate();
        int n = 3, c = 2, hw = 4;
        double[] x = data(2, n * c * hw, -2, 2);
        try (Scope s = Scope.open()) {
            Tensor runningMean = f64(new double[] {0.5, -0.5}, c), runningVar = f64(new double[] {2, 3}, c);
            Functional.batchNorm(f64(x, n, c, hw), runningMean, runningVar, null, null, true, 0.25, 1e-5, false);
            double[] expectMean = new double[c], expectVar = new double[c];
            for (int ch = 0; ch < c; ch++) {
                double sum = 0, sq = 0;
                for (int b = 0; b < n; b++) for (int i = 0; i < hw; i++) sum += x[(b * c + ch) * hw + i];
                double mean = sum / (n * hw);
                for (int b = 0; b < n; b++) for (int i = 0; i < hw; i++) sq += Math.pow(x[(b * c + ch) * hw + i] - mean, 2);
                expectMean[ch] = 0.75 * (ch == 0 ? 0.5 : -0.5) + 0.25 * mean;
                expectVar[ch] = 0.75 * (ch == 0 ? 2 : 3) + 0.25 * sq / (n * hw);
            }
            assertClose(expectMean, runningMean, 1e-12, 1e-12, "running mean");
            assertClose(expectVar, runningVar, 1e-12, 1e-12, "running variance, biased");
        }
    }

    @BackendTest
    void layerNormReturnsItsStatistics(TestDevice device) {
        device.activate();
        int rows = 3, cols = 4;
        double[] x = data(3, rows * cols, -2, 2), w = data(4, cols, 0.5, 1.5), b = data(5, cols, -1, 1);
        try (Scope s = Scope.open()) {
            Functional.NormalizedWithStatistics r = Functional.layerNormWithStatistics(f64(x, rows, cols), new int[] {cols}, f64(w, cols), f64(b, cols), 0.1);
            assertShape(r.mean(), rows, 1);
            assertShape(r.invStd(), rows, 1);
            double[] mean = new double[rows], inv = new double[rows];
            for (int i = 0; i < rows; i++) {
                double sum = 0, sq = 0;
                for (int j = 0; j < cols; j++) sum += x[i * cols + j];
                mean[i] = sum / cols;
                for (int j = 0; j < cols; j++) sq += Math.pow(x[i * cols + j] - mean[i], 2);
                inv[i] = 1 / Math.sqrt(sq / cols + 0.1);
            }
            assertClose(mean, r.mean(), 1e-12, 1e-12, "mean");
            assertClose(inv, r.invStd(), 1e-12, 1e-12, "1 / sqrt(var + eps)");
            assertClose(Functional.layerNorm(f64(x, rows, cols), new int[] {cols}, f64(w, cols), f64(b, cols), 0.1).toDoubleArray(), r.output(),
                    0, 0, "output equals layerNorm's");
            assertShape(Functional.layerNormWithStatistics(Tensor.ones(DType.FLOAT64, null, 2, 3, 4), new int[] {3, 4}, null, null, 1e-5).mean(), 2, 1, 1);
        }
        GradCheck.check("layer norm statistics", t -> {
            Functional.NormalizedWithStatistics r = Functional.layerNormWithStatistics(t, new int[] {cols}, null, null, 0.1);
            return r.mean().add(r.invStd().mul(2));
        }, x, rows, cols);
    }
}
