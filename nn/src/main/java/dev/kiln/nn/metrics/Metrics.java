package dev.kiln.nn.metrics;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;

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
     * Fraction of rows whose highest score is at the target.
     *
     * @param scores class scores (N, C)
     * @param targets class indices (N), any integer type
     * @return the fraction in [0, 1], NaN for no rows
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
            Tensor above = strictlyAbove(scores, targets);
            return above.lt(k).to(DType.FLOAT64).mean().item();
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
            return strictlyAbove(scores, targets).add(1).reciprocal().mean().item();
        }
    }

    /** Per row, how many scores exceed the target's, as float64. */
    private static Tensor strictlyAbove(Tensor scores, Tensor targets) {
        Tensor targetScore = scores.gather(1, targets.to(DType.INT64).unsqueeze(1));
        return scores.gt(targetScore).to(DType.FLOAT64).sum(1);
    }
}
