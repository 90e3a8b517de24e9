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

    /**
     * {@return the group's parameters}
     */
    public List<Tensor> params() { return params; }

    /**
     * The effective value of an option.
     *
     * @param option the option's name, e.g. {@code "lr"}
     * @return its value: the group's override, else the optimizer's default
     * @throws IllegalArgumentException if the optimizer has no such option
     */
    public double get(String option) {
        Double v = overrides.get(option);
        if (v == null) v = defaults.get(option);
        if (v == null) throw new IllegalArgumentException("optimizer has no option '" + option + "'; known: " + defaults.keySet());
        return v;
    }

    /**
     * Overrides an option for this group.
     *
     * @param option the option's name
     * @param value its value for this group
     * @return this group
     * @throws IllegalArgumentException if the optimizer has no such option
     */
    public ParamGroup set(String option, double value) {
        if (!defaults.containsKey(option))
            throw new IllegalArgumentException("optimizer has no option '" + option + "'; known: " + defaults.keySet());
        Hyperparameters.check(optimizer, option, value);
        overrides.put(option, value);
        return this;
    }

    /**
     * {@return the group's learning rate}
     */
    public double lr() { return get("lr"); }

    /**
     * Sets the group's learning rate.
     *
     * @param lr the learning rate
     * @return this group
     */
    public ParamGroup setLr(double lr) { return set("lr", lr); }

    /**
     * Every option with its effective value.
     *
     * @return the options by name, read-only
     */
    public Map<String, Double> options() {
        Map<String, Double> all = new LinkedHashMap<>();
        defaults.keySet().forEach(k -> all.put(k, get(k)));
        return Collections.unmodifiableMap(all);
    }

    Map<String, Double> overrides() { return overrides; }
}
