package dev.kiln.nn.optim;

import dev.kiln.Tensor;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parameters that share hyperparameters. A group holds only its own overrides; anything it does not set comes
 * from its optimizer's defaults, so changing a default later reaches every group that did not override it.
 */
public final class ParamGroup {
    private final List<Tensor> params;
    private final Map<String, Double> overrides = new LinkedHashMap<>();
    private final Map<String, Double> defaults;
    private final String optimizer;

    ParamGroup(String optimizer, List<Tensor> params, Map<String, Double> overrides, Map<String, Double> defaults) {
        this.optimizer = optimizer;
        this.params = List.copyOf(params);
        this.defaults = defaults;
        overrides.forEach(this::set);
    }

    public List<Tensor> params() { return params; }

    public double get(String option) {
        Double v = overrides.get(option);
        if (v == null) v = defaults.get(option);
        if (v == null) throw new IllegalArgumentException("optimizer has no option '" + option + "'; known: " + defaults.keySet());
        return v;
    }

    public ParamGroup set(String option, double value) {
        if (!defaults.containsKey(option))
            throw new IllegalArgumentException("optimizer has no option '" + option + "'; known: " + defaults.keySet());
        Hyperparameters.check(optimizer, option, value);
        overrides.put(option, value);
        return this;
    }

    public double lr() { return get("lr"); }

    public ParamGroup setLr(double lr) { return set("lr", lr); }

    /** Every option with its effective value. */
    public Map<String, Double> options() {
        Map<String, Double> all = new LinkedHashMap<>();
        defaults.keySet().forEach(k -> all.put(k, get(k)));
        return Collections.unmodifiableMap(all);
    }

    Map<String, Double> overrides() { return overrides; }
}
