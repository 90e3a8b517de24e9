package dev.kiln.nn.optim;

import dev.kiln.nn.io.Json;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Multiplies every group's rate by {@code factor} (not below {@code minLr}) when a monitored metric has not
 * improved by more than a relative {@code threshold} for more than {@code patience} checks, then waits
 * {@code cooldown} checks; as PyTorch's ReduceLROnPlateau in "rel" threshold mode.
 */
public final class ReduceLROnPlateau implements Scheduler {
    /**
     * Whether the metric should fall (a loss) or rise (an accuracy).
     */
    public enum Mode {
        /** The metric should fall, as a loss does. */
        MIN,
        /** The metric should rise, as an accuracy does. */
        MAX
    }

    private final Optimizer optimizer;
    private final Mode mode;
    private final double factor;
    private final int patience;
    private final double threshold;
    private final int cooldown;
    private final double minLr;
    private double best;
    private int badChecks;
    private int cooldownLeft;

    /**
     * A scheduler with every setting given.
     *
     * @param optimizer the optimizer whose rates are reduced
     * @param mode whether the metric should fall or rise
     * @param factor the factor the rates are multiplied by, in (0, 1)
     * @param patience checks without improvement tolerated before a reduction
     * @param threshold the relative change that counts as an improvement
     * @param cooldown checks to wait after a reduction before counting again
     * @param minLr the lowest rate
     * @throws IllegalArgumentException if the factor is not in (0, 1)
     */
    public ReduceLROnPlateau(Optimizer optimizer, Mode mode, double factor, int patience, double threshold, int cooldown, double minLr) {
        if (factor >= 1 || factor <= 0) throw new IllegalArgumentException("ReduceLROnPlateau: factor must be in (0, 1), got " + factor);
        this.optimizer = optimizer;
        this.mode = mode;
        this.factor = factor;
        this.patience = patience;
        this.threshold = threshold;
        this.cooldown = cooldown;
        this.minLr = minLr;
        this.best = mode == Mode.MIN ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
    }

    /**
     * PyTorch's defaults: factor 0.1, patience 10, threshold 1e-4, no cooldown, no floor.
     *
     * @param optimizer the optimizer whose rates are reduced
     * @param mode whether the metric should fall or rise
     */
    public ReduceLROnPlateau(Optimizer optimizer, Mode mode) { this(optimizer, mode, 0.1, 10, 1e-4, 0, 0); }

    /**
     * Records one value of the metric and reduces the rates if it has stalled.
     *
     * @param metric the metric's value this check (epoch)
     */
    public void step(double metric) {
        if (improves(metric)) {
            best = metric;
            badChecks = 0;
        } else {
            badChecks++;
        }
        if (cooldownLeft > 0) {
            cooldownLeft--;
            badChecks = 0;
        }
        if (badChecks > patience) {
            for (ParamGroup g : optimizer.paramGroups()) g.setLr(Math.max(g.lr() * factor, minLr));
            cooldownLeft = cooldown;
            badChecks = 0;
        }
    }

    private boolean improves(double metric) {
        return mode == Mode.MIN ? metric < best * (1 - threshold) : metric > best * (1 + threshold);
    }

    /** Without a metric there is nothing to judge. */
    @Override
    public void step() {
        throw new UnsupportedOperationException("ReduceLROnPlateau needs the monitored metric: call step(metric)");
    }

    @Override
    public String stateJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("best", best);
        m.put("bad_checks", badChecks);
        m.put("cooldown_left", cooldownLeft);
        return Json.write(m);
    }

    @Override
    public Runnable prepareLoadState(String json) {
        Map<String, Object> m = Json.parseObject(json);
        double newBest = Json.asDouble(m.get("best"));
        int newBadChecks = Math.toIntExact(Json.asLong(m.get("bad_checks")));
        int newCooldownLeft = Math.toIntExact(Json.asLong(m.get("cooldown_left")));
        return () -> {
            best = newBest;
            badChecks = newBadChecks;
            cooldownLeft = newCooldownLeft;
        };
    }
}
