package dev.kiln.nn.optim;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.io.Json;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The base of the optimizers: parameter groups with per-group hyperparameters, per-parameter state (step count
 * and named tensors such as moments), and a state dict for checkpoints.
 *
 * <p>{@link #step()} runs under {@link GradMode#noGrad()} and updates parameters in place; parameters without
 * a gradient are skipped. State tensors are created on a parameter's first update and live until
 * {@link #close()}.
 */
public abstract class Optimizer implements AutoCloseable {
    private final String name;
    private final Map<String, Double> defaults;
    private final List<ParamGroup> groups = new ArrayList<>();
    private final Map<Tensor, ParamState> state = new IdentityHashMap<>();

    /** One parameter's optimizer state. */
    protected static final class ParamState {
        long step;
        final Map<String, Tensor> tensors = new LinkedHashMap<>();

        /** Number of updates this parameter has received, counting the current one inside {@code update}. */
        public long step() { return step; }

        /** The named state tensor, created as zeros like {@code like} on first use. */
        public Tensor tensor(String key, Tensor like) {
            return tensors.computeIfAbsent(key, k -> Scope.escape(Tensor.zerosLike(like)));
        }

        /** The named state tensor, created from {@code init} on first use (the optimizer takes ownership). */
        public Tensor tensor(String key, java.util.function.Supplier<Tensor> init) {
            return tensors.computeIfAbsent(key, k -> Scope.escape(init.get()));
        }

        public boolean has(String key) { return tensors.containsKey(key); }
    }

    protected Optimizer(String name, List<Tensor> params, Map<String, Double> defaults) {
        this.name = name;
        this.defaults = new LinkedHashMap<>(defaults);
        addParamGroup(params, Map.of());
    }

    /**
     * Adds a group of parameters with its own option overrides (e.g. no weight decay for biases).
     *
     * @param params the group's parameters (leaf tensors that require grad, in no other group)
     * @param overrides option values for this group only, by name (e.g. {@code "weight_decay"})
     * @return the new group
     * @throws IllegalArgumentException if a tensor is not a trainable leaf or is already in a group
     */
    public final ParamGroup addParamGroup(List<Tensor> params, Map<String, Double> overrides) {
        for (Tensor p : params) {
            if (!p.requiresGrad() || !p.isLeaf())
                throw new IllegalArgumentException(name + ": parameters must be leaf tensors that require grad; got one of shape "
                        + Arrays.toString(p.shape()) + (p.isLeaf() ? " without requiresGrad" : " produced by " + p.gradFn().op()));
            for (ParamGroup g : groups)
                for (Tensor q : g.params())
                    if (q == p) throw new IllegalArgumentException(name + ": a parameter appears in two parameter groups");
        }
        ParamGroup g = new ParamGroup(params, overrides, defaults);
        groups.add(g);
        return g;
    }

    /**
     * {@return the parameter groups, in the order they were added}
     */
    public final List<ParamGroup> paramGroups() { return List.copyOf(groups); }

    /**
     * The first group's learning rate (the usual single-group case).
     *
     * @return the learning rate
     */
    public final double lr() { return groups.getFirst().lr(); }

    /**
     * Sets the learning rate of every group.
     *
     * @param lr the new learning rate
     */
    public final void setLr(double lr) { groups.forEach(g -> g.setLr(lr)); }

    /** Sets a default option for every group that does not override it. */
    protected final void setDefault(String option, double value) {
        if (!defaults.containsKey(option)) throw new IllegalArgumentException(name + ": no option '" + option + "'");
        defaults.put(option, value);
    }

    /** Clears the gradients of every parameter (to null). */
    public final void zeroGrad() {
        for (ParamGroup g : groups) for (Tensor p : g.params()) p.setGrad(null);
    }

    /** One update of every parameter that has a gradient. */
    public final void step() {
        try (GradMode ng = GradMode.noGrad()) {
            for (ParamGroup g : groups) {
                for (Tensor p : g.params()) {
                    Tensor grad = p.grad();
                    if (grad == null) continue;
                    ParamState s = state.computeIfAbsent(p, k -> new ParamState());
                    s.step++;
                    try (Scope scratch = Scope.open()) {
                        update(g, p, grad, s);
                    }
                }
            }
        }
    }

    /**
     * Updates {@code param} in place from {@code grad}; {@code state.step()} already counts this update.
     * Temporaries may be left to the enclosing scope, which closes after each parameter.
     */
    protected abstract void update(ParamGroup group, Tensor param, Tensor grad, ParamState state);

    // ---- state dict -------------------------------------------------------------------------------------

    /**
     * State tensors by "paramIndex.key", parameters numbered across groups in order; the tensors themselves.
     *
     * @return the state tensors by key
     */
    public final Map<String, Tensor> stateTensors() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        int i = 0;
        for (Tensor p : allParams()) {
            ParamState s = state.get(p);
            if (s != null) {
                int index = i;
                s.tensors.forEach((k, t) -> out.put(index + "." + k, t));
            }
            i++;
        }
        return out;
    }

    /**
     * Everything but the tensors, as JSON: the optimizer's name, each group's options, each parameter's step.
     *
     * @return the JSON text
     */
    public final String stateJson() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("optimizer", name);
        List<Object> gs = new ArrayList<>();
        for (ParamGroup g : groups) {
            Map<String, Object> m = new LinkedHashMap<>(g.overrides());
            m.put("params", g.params().size());
            gs.add(m);
        }
        root.put("defaults", new LinkedHashMap<>(defaults));
        root.put("groups", gs);
        Map<String, Object> steps = new LinkedHashMap<>();
        List<Tensor> all = allParams();
        for (int i = 0; i < all.size(); i++) {
            ParamState s = state.get(all.get(i));
            if (s != null) steps.put(Integer.toString(i), s.step);
        }
        root.put("steps", steps);
        return Json.write(root);
    }

    /**
     * Restores what {@link #stateJson} and {@link #stateTensors} saved into an optimizer over the same parameters.
     *
     * @param json what {@link #stateJson} returned
     * @param tensors what {@link #stateTensors} returned (copies are fine)
     * @throws IllegalArgumentException if the state is for another optimizer or other parameters
     */
    @SuppressWarnings("unchecked")
    public final void loadState(String json, Map<String, Tensor> tensors) {
        Map<String, Object> root = Json.parseObject(json);
        if (!name.equals(root.get("optimizer")))
            throw new IllegalArgumentException("loadState: state of a " + root.get("optimizer") + " optimizer cannot load into " + name);
        List<Object> gs = (List<Object>) root.get("groups");
        if (gs.size() != groups.size())
            throw new IllegalArgumentException("loadState: " + gs.size() + " parameter groups saved, " + groups.size() + " in this optimizer");
        for (int i = 0; i < gs.size(); i++) {
            Map<String, Object> m = (Map<String, Object>) gs.get(i);
            if (Json.asLong(m.get("params")) != groups.get(i).params().size())
                throw new IllegalArgumentException("loadState: group " + i + " had " + m.get("params") + " parameters, now " + groups.get(i).params().size());
        }
        ((Map<String, Object>) root.get("defaults")).forEach((k, v) -> setDefault(k, Json.asDouble(v)));
        for (int i = 0; i < gs.size(); i++) {
            ParamGroup g = groups.get(i);
            g.overrides().clear();
            ((Map<String, Object>) gs.get(i)).forEach((k, v) -> {
                if (!k.equals("params")) g.set(k, Json.asDouble(v));
            });
        }
        clearState();
        List<Tensor> all = allParams();
        ((Map<String, Object>) root.get("steps")).forEach((k, v) -> {
            int index = Integer.parseInt(k);
            if (index >= all.size()) throw new IllegalArgumentException("loadState: state for parameter " + index + " of " + all.size());
            state.computeIfAbsent(all.get(index), p -> new ParamState()).step = Json.asLong(v);
        });
        try (GradMode ng = GradMode.noGrad()) {
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                String key = e.getKey();
                int dot = key.indexOf('.');
                int index = Integer.parseInt(key.substring(0, dot));
                Tensor p = all.get(index);
                ParamState s = state.get(p);
                if (s == null) throw new IllegalArgumentException("loadState: tensor '" + key + "' for a parameter with no saved step");
                Tensor copy = Scope.escape(e.getValue().to(p.device()));
                s.tensors.put(key.substring(dot + 1), copy);
            }
        }
    }

    private List<Tensor> allParams() {
        List<Tensor> all = new ArrayList<>();
        for (ParamGroup g : groups) all.addAll(g.params());
        return all;
    }

    private void clearState() {
        for (ParamState s : state.values()) s.tensors.values().forEach(Tensor::close);
        state.clear();
    }

    /** Releases the state tensors (not the parameters). */
    @Override
    public void close() { clearState(); }

    @Override
    public String toString() { return name + " " + groups.stream().map(ParamGroup::options).toList(); }
}
