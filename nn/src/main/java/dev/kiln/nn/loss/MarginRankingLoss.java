package dev.kiln.nn.loss;

import dev.kiln.Functional;
import dev.kiln.Reduction;
import dev.kiln.Tensor;
import dev.kiln.nn.Module;

/** {@code max(0, -y (x1 - x2) + margin)} for y in {1, -1}: whether x1 should rank above x2. */
public final class MarginRankingLoss extends Module {
    private final double margin;
    private final Reduction reduction;

    /**
     * A ranking loss with the given margin and reduction.
     *
     * @param margin the margin by which x1 should exceed x2 (or the reverse)
     * @param reduction how the per-element losses are combined
     */
    public MarginRankingLoss(double margin, Reduction reduction) {
        this.margin = margin;
        this.reduction = reduction;
    }

    /**
     * A ranking loss with margin 0, averaged.
     */
    public MarginRankingLoss() { this(0, Reduction.MEAN); }

    /**
     * The loss for pairs ({@code x1}, {@code x2}).
     *
     * @param x1 the first scores
     * @param x2 the second scores, of the same shape
     * @param target 1 where x1 should rank higher, -1 where x2 should
     * @return the loss, a scalar unless the reduction is none
     */
    public Tensor forward(Tensor x1, Tensor x2, Tensor target) { return Functional.marginRankingLoss(x1, x2, target, margin, reduction); }

    @Override
    protected String describe() { return "MarginRankingLoss(margin=" + margin + ", " + reduction + ")"; }
}
