package dev.kiln.nn.optim;

/**
 * The valid range of each optimizer option, checked wherever one is set (constructor, builder, group override,
 * learning-rate change, loaded state), so a NaN learning rate or a beta of 1.5 fails where it is written rather
 * than as NaN weights many steps later. The ranges are PyTorch's.
 */
final class Hyperparameters {
    private Hyperparameters() {}

    static void check(String optimizer, String option, double value) {
        String rule = switch (option) {
            case "beta1", "beta2" -> value >= 0 && value < 1 ? null : "must be in [0, 1)";
            case "nesterov", "centered" -> value == 0 || value == 1 ? null : "must be 0 (false) or 1 (true)";
            case "dampening" -> Double.isFinite(value) ? null : "must be finite";
            default -> value >= 0 && Double.isFinite(value) ? null : "must be finite and non-negative";
        };
        if (rule != null) throw new IllegalArgumentException(optimizer + ": invalid " + option + " " + value + " (" + rule + ")");
    }
}
