package dev.kiln.nn;

import dev.kiln.Reduction;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.loss.Loss;
import dev.kiln.nn.loss.MarginRankingLoss;
import org.junit.jupiter.api.Test;

import static dev.kiln.nn.Check.close;
import static dev.kiln.nn.Check.data;
import static dev.kiln.nn.Check.f64;

/** Loss modules against hand-written references; the losses composed in nn also by finite differences. */
class LossTest {
    private static final double[] X = {0.3, -1.2, 2.0, 0.1, -0.4, 0.9};
    private static final double[] Y = {0.0, -1.0, 0.5, 0.4, 1.6, 0.9};

    @Test
    void regressionLosses() {
        try (Scope s = Scope.open()) {
            double mse = 0, l1 = 0, smooth = 0, huber = 0;
            for (int i = 0; i < X.length; i++) {
                double d = Math.abs(X[i] - Y[i]);
                mse += d * d / X.length;
                l1 += d / X.length;
                smooth += (d < 0.5 ? 0.5 * d * d / 0.5 : d - 0.25) / X.length;
                huber += (d < 0.5 ? 0.5 * d * d : 0.5 * (d - 0.25)) / X.length;
            }
            Tensor x = f64(X, 2, 3), y = f64(Y, 2, 3);
            close(mse, Loss.mse().forward(x, y).item(), 1e-12, "mse");
            close(l1, Loss.l1().forward(x, y).item(), 1e-12, "l1");
            close(smooth, Loss.smoothL1(0.5, Reduction.MEAN).forward(x, y).item(), 1e-12, "smooth l1");
            close(huber, Loss.huber(0.5, Reduction.MEAN).forward(x, y).item(), 1e-12, "huber");
            close(huber * X.length, Loss.huber(0.5, Reduction.SUM).forward(x, y).item(), 1e-12, "huber sum");
            Check.assertShape(new int[] {2, 3}, Loss.huber(0.5, Reduction.NONE).forward(x, y));
            Check.grads("smooth l1", t -> Loss.smoothL1(0.5, Reduction.MEAN).forward(t[0], t[1]), f64(X, 2, 3).requiresGrad(true), f64(Y, 2, 3));
            Check.grads("huber", t -> Loss.huber(0.7, Reduction.SUM).forward(t[0], t[1]), f64(X, 2, 3).requiresGrad(true), f64(Y, 2, 3));
        }
    }

    @Test
    void classificationLosses() {
        try (Scope s = Scope.open()) {
            Tensor logits = f64(X, 2, 3);
            Tensor target = Tensor.of(new long[] {2, 0}, 2);
            double ce = 0;
            for (int n = 0; n < 2; n++) {
                double lse = 0;
                for (int c = 0; c < 3; c++) lse += Math.exp(X[3 * n + c]);
                ce += (Math.log(lse) - X[3 * n + (n == 0 ? 2 : 0)]) / 2;
            }
            close(ce, Loss.crossEntropy().forward(logits, target).item(), 1e-12, "cross entropy");
            close(ce, Loss.nll().forward(logits.logSoftmax(1), target).item(), 1e-12, "nll of log-softmax");

            double mm = 0;
            for (int n = 0; n < 2; n++) {
                int t = n == 0 ? 2 : 0;
                for (int c = 0; c < 3; c++) if (c != t) mm += Math.pow(Math.max(0, 1 - X[3 * n + t] + X[3 * n + c]), 2) / 3 / 2;
            }
            close(mm, Loss.multiMargin(2, 1, null, Reduction.MEAN).forward(logits, target).item(), 1e-12, "multi margin");
            Check.grads("multi margin", t -> Loss.multiMargin(1, 1, null, Reduction.SUM).forward(t[0], target), f64(X, 2, 3).requiresGrad(true));
        }
    }

    @Test
    void binaryAndRankingLosses() {
        try (Scope s = Scope.open()) {
            double[] p = {0.2, 0.9, 0.6}, t = {0, 1, 1};
            double bce = 0, bcel = 0;
            for (int i = 0; i < 3; i++) {
                bce -= (t[i] * Math.log(p[i]) + (1 - t[i]) * Math.log(1 - p[i])) / 3;
                double sig = 1 / (1 + Math.exp(-p[i]));
                bcel -= (t[i] * Math.log(sig) + (1 - t[i]) * Math.log(1 - sig)) / 3;
            }
            close(bce, Loss.bce().forward(f64(p, 3), f64(t, 3)).item(), 1e-12, "bce");
            close(bcel, Loss.bceWithLogits().forward(f64(p, 3), f64(t, 3)).item(), 1e-12, "bce with logits");
            double[] x1 = {0.5, -0.2, 1.0}, x2 = {0.1, 0.3, 1.5}, y = {1, -1, 1};
            double mr = 0, hinge = 0;
            for (int i = 0; i < 3; i++) {
                mr += Math.max(0, -y[i] * (x1[i] - x2[i]) + 0.1) / 3;
                hinge += (y[i] == 1 ? x1[i] : Math.max(0, 1 - x1[i])) / 3;
            }
            close(mr, new MarginRankingLoss(0.1, Reduction.MEAN).forward(f64(x1, 3), f64(x2, 3), f64(y, 3)).item(), 1e-12, "margin ranking");
            close(hinge, Loss.hingeEmbedding(1, Reduction.MEAN).forward(f64(x1, 3), f64(y, 3)).item(), 1e-12, "hinge embedding");
        }
    }

    @Test
    void klDivergence() {
        try (Scope s = Scope.open()) {
            double[] q = {0.1, 0.6, 0.3, 0.5, 0.5, 0.0};
            double[] logp = new double[6];
            double[] raw = data(3, 6, -1, 1);
            for (int r = 0; r < 2; r++) {
                double lse = 0;
                for (int c = 0; c < 3; c++) lse += Math.exp(raw[3 * r + c]);
                for (int c = 0; c < 3; c++) logp[3 * r + c] = raw[3 * r + c] - Math.log(lse);
            }
            double kl = 0;
            for (int i = 0; i < 6; i++) if (q[i] > 0) kl += q[i] * (Math.log(q[i]) - logp[i]);
            close(kl / 2, Loss.klDiv(Reduction.SUM, true, false).forward(f64(logp, 2, 3), f64(q, 2, 3)).item(), 1e-12, "kl batchmean");
            close(kl / 6, Loss.klDiv(Reduction.MEAN, false, false).forward(f64(logp, 2, 3), f64(q, 2, 3)).item(), 1e-12, "kl mean");
            double[] logq = {Math.log(0.1), Math.log(0.6), Math.log(0.3), Math.log(0.5), Math.log(0.5), Math.log(1e-300)};
            close(kl / 2, Loss.klDiv(Reduction.SUM, true, true).forward(f64(logp, 2, 3), f64(logq, 2, 3)).item(), 1e-9, "kl log target");
            Check.grads("kl", t -> Loss.klDiv(Reduction.SUM, false, false).forward(t[0], f64(q, 2, 3)), f64(logp, 2, 3).requiresGrad(true));
        }
    }

    @Test
    void unbatchedClassScoresGiveTheLossOfABatchOfOne() {
        try (Scope s = Scope.open()) {
            Tensor scores = f64(data(3, 5, -2, 2), 5);
            Tensor label = Tensor.of(new long[] {3}).reshape();
            double batched = Loss.crossEntropy().forward(scores.unsqueeze(0), label.unsqueeze(0)).item();
            close(batched, Loss.crossEntropy().forward(scores, label).item(), 0, "cross entropy of (C) scores and a 0-d target");
            double nll = Loss.nll().forward(scores.logSoftmax(0).unsqueeze(0), label.unsqueeze(0)).item();
            close(nll, Loss.nll().forward(scores.logSoftmax(0), label).item(), 0, "nll of (C) log-probabilities");
        }
    }
}
