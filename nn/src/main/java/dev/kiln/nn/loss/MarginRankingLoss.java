package dev.kiln.nn.loss;

import dev.kiln.Functional;
import dev.kiln.Reduction;
import dev.kiln.Tensor;
import dev.kiln.nn.Module;

/** {@code max(0, -y (x1 - x2) + margin)} for y in {1, -1}: whether x1 should rank above x2. */
public final class MarginRankingLoss extends Module {
    private final double margin;
    private final Reduction reduction;

    public MarginRankingLoss(double margin, Reduction reduction) {
        this.margin = margin;
        this.reduction = reduction;
    }

    public MarginRankingLoss() { this(0, Reduction.MEAN); }

    public Tensor forward(Tensor x1, Tensor x2, Tensor target) { return Functional.marginRankingLoss(x1, x2, target, margin, reduction); }

    @Override
    protected String describe() { return "MarginRankingLoss(margin=" + margin + ", " + reduction + ")"; }
}
