package dev.kiln.nn.zoo;

import java.util.Map;

/**
 * What a zoo run measured: the headline {@code metric} and its {@code value}, the {@code target} for it (met
 * when the value is at least the target, or at most it when {@code lowerIsBetter}), the mean training loss at
 * the start and at the end of the run, and further figures by name.
 *
 * @param metric the headline metric's name
 * @param value its value
 * @param target the value it should reach
 * @param lowerIsBetter whether the target is a ceiling (else a floor)
 * @param firstLoss the mean training loss at the start of the run
 * @param lastLoss the mean training loss at the end of the run
 * @param details further figures by name
 */
public record ZooResult(String metric, double value, double target, boolean lowerIsBetter, double firstLoss, double lastLoss, Map<String, Double> details) {
    /** Copies {@code details}. */
    public ZooResult {
        details = Map.copyOf(details);
    }

    /** {@return whether the value reached the target} */
    public boolean targetMet() { return lowerIsBetter ? value <= target : value >= target; }

    /** {@return whether training lowered the loss: finite at the end and below where it started} */

    public boolean lossFell() { return Double.isFinite(lastLoss) && lastLoss < firstLoss; }

}
