package dev.kiln.nn.metrics;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Module;
import dev.kiln.nn.data.Batch;

import java.util.Arrays;

/** Evaluation metrics over scores (N, C) and integer targets (N); none of them records a graph. */
public final class Metrics {
    private Metrics() {}

    private static void check(String op, Tensor scores, Tensor targets) {
        if (scores.dim() != 2 || targets.dim() != 1 || targets.size(0) != scores.size(0) || targets.dtype().isFloatingPoint())
            throw new IllegalArgumentException(op + ": expected scores (N, C) and integer targets (N), got " + Arrays.toString(scores.shape()) + " "
                    + scores.dtype() + " and " + Arrays.toString(targets.shape()) + " " + targets.dtype());
    }

    /**
     * Fraction of the examples in {@code batches} whose arg-max output of {@code model} is their label; the model
     * runs in evaluation mode without gradients and is left in training mode. Closes the batches.
     *
     * @param model the classifier, mapping a batch's inputs to (N, C) scores
     * @param batches the labelled examples
     * @return the fraction correct, in [0, 1]
     */
    public static double accuracy(Module model, Iterable<Batch> batches) {
        model.eval();
        long correct = 0, total = 0;
        try (GradMode ng = GradMode.noGrad()) {
            for (Batch batch : batches) {
                try (Scope s = Scope.open(); batch) {
                    Tensor predicted = model.forward(batch.inputs()).argmax(1, false);
                    correct += (long) predicted.eq(batch.targets()).to(DType.INT64).sum().item();
                    total += batch.size();
                }
            }
        }
        model.train();
        return (double) correct / total;
    }

    /**
     * Fraction of rows whose highest score is at the target.
     *
     * @param scores (N, C) scores
     * @param targets (N) integer class indices
     * @return the fraction correct, in [0, 1]
     * @throws IllegalArgumentException if the shapes or dtypes do not fit
     */

    public static double accuracy(Tensor scores, Tensor targets) { return topK(scores, targets, 1); }

    /**
     * Fraction of rows whose target is among the k highest scores, counted as the number of scores strictly
     * above the target's being below k (ties go in the target's favour).
     *
     * @param scores class scores (N, C)
     * @param targets class indices (N), any integer type
     * @param k how many of the highest scores count, at least 1
     * @return the fraction in [0, 1], NaN for no rows
     */
    public static double topK(Tensor scores, Tensor targets, int k) {
        check("topK", scores, targets);
        if (k < 1) throw new IllegalArgumentException("topK: k must be positive, got " + k);
        if (scores.size(0) == 0) return Double.NaN;
        try (GradMode g = GradMode.noGrad(); Scope s = Scope.open()) {
            // The count is exact in int64 and the fraction is taken on the host, in double.
            Tensor hits = strictlyAbove(scores, targets).lt(k).to(DType.INT64).sum();
            return hits.item() / scores.size(0);
        }
    }

    /**
     * Mean of 1/rank of the target, rank 1 being the highest score (ties go in the target's favour).
     *
     * @param scores class scores (N, C)
     * @param targets class indices (N), any integer type
     * @return the mean in (0, 1], NaN for no rows
     */
    public static double meanReciprocalRank(Tensor scores, Tensor targets) {
        check("meanReciprocalRank", scores, targets);
        if (scores.size(0) == 0) return Double.NaN;
        try (GradMode g = GradMode.noGrad(); Scope s = Scope.open()) {
            // One rank per row comes back (an evaluation metric reads anyway); the mean of 1/rank is taken in double.
            long[] above = strictlyAbove(scores, targets).toLongArray();
            double sum = 0;
            for (long a : above) sum += 1.0 / (a + 1);
            return sum / above.length;
        }
    }

    /** Per row, how many scores exceed the target's, as int64 (exact, and no float64 on the device). */
    private static Tensor strictlyAbove(Tensor scores, Tensor targets) {
        Tensor targetScore = scores.gather(1, targets.to(DType.INT64).unsqueeze(1));
        return scores.gt(targetScore).to(DType.INT64).sum(1);
    }
}
