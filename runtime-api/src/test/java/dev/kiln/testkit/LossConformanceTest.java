package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Reduction;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.util.Arrays;

import static dev.kiln.testkit.ErrorConformanceTest.assertMessage;
import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every loss against host loops written from PyTorch's definitions, for each reduction, with gradients. */
class LossConformanceTest {

    /** Per-element values reduced the way a loss does: as they are, to their sum, or to sum / divisor. */
    static double[] reduceRef(double[] perElement, Reduction reduction, double divisor) {
        double sum = Arrays.stream(perElement).sum();
        return switch (reduction) {
            case NONE -> perElement;
            case SUM -> new double[] {sum};
            case MEAN -> new double[] {sum / divisor};
        };
    }

    static double[] reduceRef(double[] perElement, Reduction reduction) { return reduceRef(perElement, reduction, perElement.length); }

    /** Log-probabilities along the class dimension of (n, c, spatial) data, or the data itself. */
    static double[] logProbabilities(double[] x, int n, int c, int spatial, boolean fromLogits) {
        if (!fromLogits) return x;
        double[] out = new double[x.length];
        for (int b = 0; b < n; b++)
            for (int s = 0; s < spatial; s++) {
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int k = 0; k < c; k++) max = Math.max(max, x[(b * c + k) * spatial + s]);
                for (int k = 0; k < c; k++) sum += Math.exp(x[(b * c + k) * spatial + s] - max);
                for (int k = 0; k < c; k++) out[(b * c + k) * spatial + s] = x[(b * c + k) * spatial + s] - max - Math.log(sum);
            }
        return out;
    }

    /**
     * PyTorch's cross entropy / nll for class indices: per element (1 - eps) * (-w[t] logp[t]) + eps / C * (-sum_c w[c] logp[c]),
     * zero where t is ignored; MEAN divides by the summed w[t] of the kept elements.
     */
    static double[] refClassIndices(double[] x, int n, int c, int spatial, long[] target, double[] weight, int ignore, double eps,
                                    Reduction reduction, boolean fromLogits) {
        double[] logp = logProbabilities(x, n, c, spatial, fromLogits);
        double[] loss = new double[n * spatial];
        double weightSum = 0;
        for (int b = 0; b < n; b++)
            for (int s = 0; s < spatial; s++) {
                int t = (int) target[b * spatial + s];
                if (t == ignore) continue;
                double wt = weight == null ? 1 : weight[t];
                weightSum += wt;
                double smooth = 0;
                for (int k = 0; k < c; k++) smooth -= (weight == null ? 1 : weight[k]) * logp[(b * c + k) * spatial + s];
                loss[b * spatial + s] = (1 - eps) * -wt * logp[(b * c + t) * spatial + s] + eps / c * smooth;
            }
        return reduceRef(loss, reduction, weightSum);
    }

    /** Cross entropy against class probabilities: -sum_c w[c] t'[c] logp[c], t' smoothed; MEAN over the samples. */
    static double[] refClassProbabilities(double[] x, int n, int c, int spatial, double[] target, double[] weight, double eps, Reduction reduction) {
        double[] logp = logProbabilities(x, n, c, spatial, true);
        double[] loss = new double[n * spatial];
        for (int b = 0; b < n; b++)
            for (int s = 0; s < spatial; s++)
                for (int k = 0; k < c; k++) {
                    int at = (b * c + k) * spatial + s;
                    loss[b * spatial + s] -= (weight == null ? 1 : weight[k]) * (target[at] * (1 - eps) + eps / c) * logp[at];
                }
        return reduceRef(loss, reduction);
    }

    /** Class-index targets cycling through the classes, with some set to {@code ignore} or to class 1. */
    static long[] targets(int count, int c, int ignore) {
        long[] t = new long[count];
        for (int i = 0; i < count; i++) t[i] = (i * 7L + 3) % c;
        t[1] = ignore == Functional.IGNORE_INDEX ? ignore : 1;
        return t;
    }

    /** (n, c, spatial...) shapes of the classification tests. */
    private static final int[][] CLASS_SHAPES = {{4, 5}, {2, 3, 2, 2}};

    private static int spatial(int[] shape) { return Ref.numel(shape) / (shape[0] * shape[1]); }

    private static int[] targetShape(int[] shape) {
        int[] t = new int[shape.length - 1];
        t[0] = shape[0];
        System.arraycopy(shape, 2, t, 1, shape.length - 2);
        return t;
    }

    @BackendTest
    void crossEntropyAndNllWithClassIndices(TestDevice device) {
        device.activate();
        for (int[] shape : CLASS_SHAPES) {
            int n = shape[0], c = shape[1], sp = spatial(shape);
            int[] tShape = targetShape(shape);
            double[] x = data(101, Ref.numel(shape), -3, 3), classWeights = data(102, c, 0.2, 2);
            for (int ignore : new int[] {Functional.IGNORE_INDEX, 1}) {
                long[] t = targets(n * sp, c, ignore);
                for (double[] weight : new double[][] {null, classWeights}) {
                    for (double eps : new double[] {0, 0.2}) {
                        for (Reduction r : Reduction.values()) {
                            String what = Arrays.toString(shape) + " ignore=" + ignore + " weighted=" + (weight != null) + " eps=" + eps + " " + r;
                            try (Scope s = Scope.open()) {
                                Tensor w = weight == null ? null : Ref.f64(weight, c);
                                Tensor target = Tensor.of(t, tShape);
                                Tensor ce = Functional.crossEntropy(Ref.f64(x, shape), target, w, ignore, r, eps);
                                if (r == Reduction.NONE) assertShape(ce, tShape);
                                assertClose(refClassIndices(x, n, c, sp, t, weight, ignore, eps, r, true), ce, 1e-10, 1e-12, "cross_entropy " + what);
                                Tensor ce32 = Functional.crossEntropy(Ref.f32(x, shape), target, weight == null ? null : Ref.f32(weight, c), ignore, r, eps);
                                assertClose(refClassIndices(x, n, c, sp, t, weight, ignore, eps, r, true), ce32, 1e-4, 1e-5, "cross_entropy f32 " + what);
                                if (eps == 0) {
                                    Tensor nll = Functional.nllLoss(Ref.f64(x, shape), target, w, ignore, r);
                                    assertClose(refClassIndices(x, n, c, sp, t, weight, ignore, 0, r, false), nll, 1e-10, 1e-12, "nll_loss " + what);
                                }
                            }
                            GradCheck.check("cross_entropy " + what, v -> Functional.crossEntropy(v, Tensor.of(t, tShape),
                                    weight == null ? null : Ref.f64(weight, c), ignore, r, eps), x, shape);
                            if (eps == 0)
                                GradCheck.check("nll_loss " + what, v -> Functional.nllLoss(v, Tensor.of(t, tShape),
                                        weight == null ? null : Ref.f64(weight, c), ignore, r), x, shape);
                        }
                    }
                }
            }
        }
    }

    @BackendTest
    void crossEntropyWithClassProbabilities(TestDevice device) {
        device.activate();
        for (int[] shape : CLASS_SHAPES) {
            int n = shape[0], c = shape[1], sp = spatial(shape);
            double[] x = data(111, Ref.numel(shape), -3, 3), weight = data(112, c, 0.2, 2);
            double[] probs;
            try (Scope s = Scope.open()) {
                probs = Ref.f64(data(113, Ref.numel(shape), -2, 2), shape).softmax(1).toDoubleArray();
            }
            for (double[] wt : new double[][] {null, weight}) {
                for (double eps : new double[] {0, 0.1}) {
                    for (Reduction r : Reduction.values()) {
                        String what = Arrays.toString(shape) + " weighted=" + (wt != null) + " eps=" + eps + " " + r;
                        try (Scope s = Scope.open()) {
                            Tensor ce = Functional.crossEntropy(Ref.f64(x, shape), Ref.f64(probs, shape), wt == null ? null : Ref.f64(wt, c),
                                    Functional.IGNORE_INDEX, r, eps);
                            assertClose(refClassProbabilities(x, n, c, sp, probs, wt, eps, r), ce, 1e-10, 1e-12, "cross_entropy probabilities " + what);
                        }
                        GradCheck.check("cross_entropy probabilities " + what, v -> Functional.crossEntropy(v[0], v[1],
                                wt == null ? null : Ref.f64(wt, c), Functional.IGNORE_INDEX, r, eps), new double[][] {x, probs}, new int[][] {shape, shape});
                    }
                }
            }
        }
    }

    @BackendTest
    void classificationEdgeCases(TestDevice device) {
        device.activate();
        double[] logits = {0.5, -1, 2, 0.1};
        try (Scope s = Scope.open()) {
            // An unbatched (C) input with a 0-d target.
            Tensor one = Functional.crossEntropy(Ref.f64(logits, 4), Tensor.of(new long[] {2}).reshape());
            assertShape(one, new int[0]);
            assertClose(refClassIndices(logits, 1, 4, 1, new long[] {2}, null, -100, 0, Reduction.MEAN, true), one, 1e-12, 1e-12, "unbatched");
            Tensor none = Functional.crossEntropy(Ref.f64(logits, 4), Tensor.of(new long[] {2}).reshape(), null, -100, Reduction.NONE, 0);
            assertShape(none, new int[0]);
            Tensor probs = Functional.crossEntropy(Ref.f64(logits, 4), Ref.f64(new double[] {0, 0, 1, 0}, 4));
            assertEquals(one.item(), probs.item(), 1e-12, "a one-hot probability target equals the index target");
            // int32 targets work like int64.
            Tensor i32 = Functional.crossEntropy(Ref.f64(logits, 2, 2), Tensor.of(new int[] {1, 0}));
            assertClose(refClassIndices(logits, 2, 2, 1, new long[] {1, 0}, null, -100, 0, Reduction.MEAN, true), i32, 1e-12, 1e-12, "int32 targets");
            // Every target ignored: the weighted mean is 0 / 0, NaN as in PyTorch; the sum is 0.
            Tensor ignoredTargets = Tensor.of(new long[] {-100, -100});
            assertTrue(Double.isNaN(Functional.crossEntropy(Ref.f64(logits, 2, 2), ignoredTargets).item()));
            assertEquals(0, Functional.crossEntropy(Ref.f64(logits, 2, 2), ignoredTargets, null, -100, Reduction.SUM, 0).item());
            // A large logit gap stays finite.
            Tensor big = Functional.crossEntropy(Ref.f32(new double[] {1000, -1000}, 1, 2), Tensor.of(new long[] {1}));
            assertEquals(2000, big.item(), 1e-2);
            assertFalse(Double.isNaN(big.item()));
        }
    }

    @BackendTest
    void regressionLosses(TestDevice device) {
        device.activate();
        int[] shape = {3, 4};
        double[] a = data(121, 12, -2, 2), b = data(122, 12, -2, 2);
        double[] sq = new double[12], abs = new double[12];
        for (int i = 0; i < 12; i++) {
            sq[i] = (a[i] - b[i]) * (a[i] - b[i]);
            abs[i] = Math.abs(a[i] - b[i]);
        }
        for (Reduction r : Reduction.values()) {
            try (Scope s = Scope.open()) {
                Tensor mse = Functional.mseLoss(Ref.f64(a, shape), Ref.f64(b, shape), r);
                if (r == Reduction.NONE) assertShape(mse, shape);
                assertClose(reduceRef(sq, r), mse, 1e-12, 1e-12, "mse_loss " + r);
                assertClose(reduceRef(abs, r), Functional.l1Loss(Ref.f64(a, shape), Ref.f64(b, shape), r), 1e-12, 1e-12, "l1_loss " + r);
                assertClose(reduceRef(sq, r), Functional.mseLoss(Ref.f32(a, shape), Ref.f32(b, shape), r), 1e-4, 1e-5, "mse_loss f32 " + r);
            }
            GradCheck.check("mse_loss " + r, v -> Functional.mseLoss(v[0], v[1], r), new double[][] {a, b}, new int[][] {shape, shape});
            GradCheck.check("l1_loss " + r, v -> Functional.l1Loss(v[0], v[1], r), new double[][] {a, b}, new int[][] {shape, shape});
        }
        try (Scope s = Scope.open()) {
            assertEquals(Functional.mseLoss(Ref.f64(a, shape), Ref.f64(b, shape), Reduction.MEAN).item(),
                    Functional.mseLoss(Ref.f64(a, shape), Ref.f64(b, shape)).item(), 0, "MEAN is the default");
        }
    }

    @BackendTest
    void binaryCrossEntropy(TestDevice device) {
        device.activate();
        int[] shape = {2, 3};
        double[] p = data(131, 6, 0.05, 0.95), t = data(132, 6, 0, 1), w = data(133, 3, 0.5, 2);
        for (double[] weight : new double[][] {null, w}) {
            double[] loss = new double[6];
            for (int i = 0; i < 6; i++)
                loss[i] = -(weight == null ? 1 : weight[i % 3]) * (t[i] * Math.log(p[i]) + (1 - t[i]) * Math.log(1 - p[i]));
            for (Reduction r : Reduction.values()) {
                String what = "weighted=" + (weight != null) + " " + r;
                try (Scope s = Scope.open()) {
                    Tensor y = Functional.binaryCrossEntropy(Ref.f64(p, shape), Ref.f64(t, shape), weight == null ? null : Ref.f64(weight, 3), r);
                    assertClose(reduceRef(loss, r), y, 1e-12, 1e-12, "binary_cross_entropy " + what);
                }
                GradCheck.check("binary_cross_entropy " + what, v -> Functional.binaryCrossEntropy(v[0], v[1], weight == null ? null : Ref.f64(weight, 3), r),
                        new double[][] {p, t}, new int[][] {shape, shape});
            }
        }
        try (Scope s = Scope.open()) {
            // Probabilities of exactly 0 and 1: each log is clamped at -100 and the gradient stays finite.
            Tensor x = Ref.f64(new double[] {0, 1, 0, 1}, 4).requiresGrad(true);
            Tensor y = Functional.binaryCrossEntropy(x, Ref.f64(new double[] {0, 1, 1, 0}, 4), null, Reduction.NONE);
            assertClose(new double[] {0, 0, 100, 100}, y, 0, 1e-12, "clamped logs");
            y.sum().backward();
            for (double g : x.grad().toDoubleArray()) assertFalse(Double.isNaN(g) || Double.isInfinite(g), "finite gradient at 0 and 1");
        }
    }

    @BackendTest
    void binaryCrossEntropyWithLogits(TestDevice device) {
        device.activate();
        int[] shape = {2, 3};
        double[] x = data(141, 6, -4, 4), t = data(142, 6, 0, 1), w = data(143, 6, 0.5, 2), pw = data(144, 3, 0.5, 3);
        for (boolean weighted : new boolean[] {false, true}) {
            for (boolean positiveWeighted : new boolean[] {false, true}) {
                double[] loss = new double[6];
                for (int i = 0; i < 6; i++) {
                    double logSig = -softplus(-x[i]), logOneMinusSig = -softplus(x[i]);
                    double pos = positiveWeighted ? pw[i % 3] : 1;
                    loss[i] = -(weighted ? w[i] : 1) * (pos * t[i] * logSig + (1 - t[i]) * logOneMinusSig);
                }
                for (Reduction r : Reduction.values()) {
                    String what = "weight=" + weighted + " pos_weight=" + positiveWeighted + " " + r;
                    try (Scope s = Scope.open()) {
                        Tensor y = Functional.binaryCrossEntropyWithLogits(Ref.f64(x, shape), Ref.f64(t, shape), weighted ? Ref.f64(w, shape) : null,
                                positiveWeighted ? Ref.f64(pw, 3) : null, r);
                        assertClose(reduceRef(loss, r), y, 1e-12, 1e-12, "binary_cross_entropy_with_logits " + what);
                    }
                    GradCheck.check("binary_cross_entropy_with_logits " + what, v -> Functional.binaryCrossEntropyWithLogits(v[0], v[1],
                            weighted ? Ref.f64(w, shape) : null, positiveWeighted ? Ref.f64(pw, 3) : null, r), new double[][] {x, t}, new int[][] {shape, shape});
                }
            }
        }
        try (Scope s = Scope.open()) {
            Tensor extreme = Functional.binaryCrossEntropyWithLogits(Ref.f32(new double[] {80, -80, 80, -80}, 4), Ref.f32(new double[] {1, 0, 0, 1}, 4),
                    null, null, Reduction.NONE);
            assertClose(new double[] {0, 0, 80, 80}, extreme, 1e-6, 1e-6, "large logits stay finite and exact");
        }
    }

    private static double softplus(double v) { return Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))); }

    @BackendTest
    void hingeEmbeddingAndMarginRanking(TestDevice device) {
        device.activate();
        int n = 8;
        double[] x = data(151, n, -2, 2), x2 = data(152, n, -2, 2);
        double[] sign = new double[n];
        for (int i = 0; i < n; i++) sign[i] = i % 3 == 0 ? -1 : 1;
        double margin = 0.7;
        double[] hinge = new double[n], ranking = new double[n];
        for (int i = 0; i < n; i++) {
            hinge[i] = sign[i] == 1 ? x[i] : Math.max(0, margin - x[i]);
            ranking[i] = Math.max(0, -sign[i] * (x[i] - x2[i]) + margin);
        }
        for (Reduction r : Reduction.values()) {
            try (Scope s = Scope.open()) {
                assertClose(reduceRef(hinge, r), Functional.hingeEmbeddingLoss(Ref.f64(x, n), Ref.f64(sign, n), margin, r), 1e-12, 1e-12, "hinge_embedding_loss " + r);
                assertClose(reduceRef(ranking, r), Functional.marginRankingLoss(Ref.f64(x, n), Ref.f64(x2, n), Ref.f64(sign, n), margin, r),
                        1e-12, 1e-12, "margin_ranking_loss " + r);
            }
            GradCheck.check("hinge_embedding_loss " + r, v -> Functional.hingeEmbeddingLoss(v, Ref.f64(sign, n), margin, r), x, n);
            GradCheck.check("margin_ranking_loss " + r, v -> Functional.marginRankingLoss(v[0], v[1], Ref.f64(sign, n), margin, r),
                    new double[][] {x, x2}, new int[][] {{n}, {n}});
        }
    }

    @BackendTest
    void badInputIsRejectedClearly(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor logits = Tensor.zeros(4, 5);
            // Target bounds are checked on the device: the violation may surface at the next read.
            assertMessage(IndexOutOfBoundsException.class, () -> Functional.crossEntropy(logits, Tensor.of(new long[] {0, 1, 5, 2})).item(),
                    "cross_entropy target", "index 5", "size 5");
            assertMessage(IllegalArgumentException.class, () -> Functional.crossEntropy(logits, Tensor.of(new long[] {0, 1, 2})),
                    "cross_entropy", "[3]", "[4]");
            assertMessage(IllegalArgumentException.class, () -> Functional.crossEntropy(logits, Tensor.of(new long[] {0, 1, 2, 3}), Tensor.ones(4),
                    -100, Reduction.MEAN, 0), "cross_entropy", "weights", "5");
            assertMessage(IllegalArgumentException.class, () -> Functional.crossEntropy(logits, Tensor.zeros(4, 4)), "cross_entropy", "[4, 4]", "[4, 5]");
            assertMessage(IllegalArgumentException.class, () -> Functional.crossEntropy(logits, Tensor.of(new long[] {0, 1, 2, 3}), null, -100,
                    Reduction.MEAN, 1.5), "cross_entropy", "label smoothing", "1.5");
            assertMessage(IllegalArgumentException.class, () -> Functional.nllLoss(logits, Tensor.zeros(4, 5)), "nll_loss", "integer class indices");
            assertMessage(IndexOutOfBoundsException.class, () -> Functional.nllLoss(logits, Tensor.of(new long[] {-1, 0, 0, 0})).item(),
                    "nll_loss target", "index -1", "size 5");
            assertMessage(IllegalArgumentException.class, () -> Functional.mseLoss(logits, Tensor.zeros(5, 4)), "mse_loss", "[4, 5]", "[5, 4]");
            assertMessage(IndexOutOfBoundsException.class, () -> Functional.binaryCrossEntropy(Tensor.full(1.5, 3), Tensor.zeros(3)).item(),
                    "binary_cross_entropy", "[0, 1]");
            assertMessage(IndexOutOfBoundsException.class, () -> Functional.binaryCrossEntropy(Tensor.full(Double.NaN, 3), Tensor.zeros(3)).item(),
                    "binary_cross_entropy", "[0, 1]");
            assertMessage(IllegalArgumentException.class, () -> Functional.binaryCrossEntropyWithLogits(logits, Tensor.zeros(4, 5), null,
                    Tensor.ones(4), Reduction.MEAN), "binary_cross_entropy_with_logits", "pos_weight");
            assertMessage(IllegalArgumentException.class, () -> Functional.marginRankingLoss(Tensor.zeros(3), Tensor.zeros(4), Tensor.ones(3), 0,
                    Reduction.MEAN), "margin_ranking_loss", "[3]", "[4]");
            assertMessage(IllegalArgumentException.class, () -> Functional.crossEntropy(Tensor.zeros(DType.INT64, null, 4, 5), Tensor.of(new long[] {0, 1, 2, 3})),
                    "cross_entropy", "int64");
        }
    }
}
