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
    /** The fused updates of the group being stepped (see {@link #step}); null outside a step. */
    private FusedSteps.Batch fusedUpdates;

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
        defaults.forEach((option, value) -> Hyperparameters.check(name, option, value));
        if (params.isEmpty()) throw new IllegalArgumentException(name + ": got an empty parameter list");
        addParamGroup(params, Map.of());
    }

    /**
     * Adds a group of parameters with its own option overrides (e.g. no weight decay for biases). A parameter
     * listed twice (or reached twice through a module shared between two parents) is kept once, so each step
     * updates it once. PyTorch's {@code add_param_group}.
     *
     * @param params the group's parameters: leaf tensors that require grad
     * @param overrides option values that differ from the optimizer's defaults, by option name
     * @return the new group
     * @throws IllegalArgumentException if params is empty, holds a non-leaf tensor or a parameter of another group,
     *     or an override names no option
     */
    public final ParamGroup addParamGroup(List<Tensor> params, Map<String, Double> overrides) {
        Map<Tensor, Boolean> distinct = new IdentityHashMap<>();
        List<Tensor> unique = new ArrayList<>();
        for (Tensor p : params) if (distinct.put(p, Boolean.TRUE) == null) unique.add(p);
        for (Tensor p : unique) {
            if (!p.requiresGrad() || !p.isLeaf())
                throw new IllegalArgumentException(name + ": parameters must be leaf tensors that require grad; got one of shape "
                        + Arrays.toString(p.shape()) + (p.isLeaf() ? " without requiresGrad" : " produced by " + p.gradFn().op()));
            for (ParamGroup g : groups)
                for (Tensor q : g.params())
                    if (q == p) throw new IllegalArgumentException(name + ": a parameter appears in two parameter groups");
        }
        ParamGroup g = new ParamGroup(name, unique, overrides, defaults);
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
        Hyperparameters.check(name, option, value);
        defaults.put(option, value);
    }

    /** Clears the gradients of every parameter (to null). */
    public final void zeroGrad() {
        for (ParamGroup g : groups) for (Tensor p : g.params()) p.setGrad(null);
    }

    /**
     * One update of every parameter that has a gradient. The built-in optimizers' fused updates of a group run
     * together once all its parameters are visited, one backend call for the whole group.
     */
    public final void step() {
        try (GradMode ng = GradMode.noGrad()) {
            for (ParamGroup g : groups) {
                fusedUpdates = new FusedSteps.Batch();
                try {
                    for (Tensor p : g.params()) {
                        Tensor grad = p.grad();
                        if (grad == null) continue;
                        ParamState s = state.computeIfAbsent(p, k -> new ParamState());
                        s.step++;
                        try (Scope scratch = Scope.open()) {
                            update(g, p, grad, s);
                        }
                    }
                    fusedUpdates.run();
                } finally {
                    fusedUpdates = null;
                }
            }
        }
    }

    /** The fused updates of the group {@link #step} is visiting, for the built-in optimizers' {@code update}. */
    final FusedSteps.Batch fusedUpdates() { return fusedUpdates; }

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
     * Restores what {@link #stateJson} and {@link #stateTensors} saved into an optimizer over the same parameters
     * (PyTorch's {@code load_state_dict}); invalid state changes nothing.
     *
     * @param json the saved options, groups and step counts
     * @param tensors the saved state tensors, by name
     * @throws IllegalArgumentException if the state does not fit this optimizer
     */
    public final void loadState(String json, Map<String, Tensor> tensors) { prepareLoadState(json, tensors).run(); }

    /**
     * Validates saved state against this optimizer (names, group sizes, option names and ranges, step counts,
     * and each state tensor's parameter and shape) and returns the action that applies it. Nothing changes until
     * the action runs, so a checkpoint that fails validation leaves the optimizer as it was; a moment of the wrong
     * shape fails here rather than at the next step.
     *
     * @param json the saved options, groups and step counts
     * @param tensors the saved state tensors, by name
     * @return the action that applies the state
     * @throws IllegalArgumentException if the state does not fit this optimizer
     */
    public final Runnable prepareLoadState(
String json, Map<String, Tensor> tensors) {
        Map<String, Object> root = Json.parseObject(json);
        if (!name.equals(root.get("optimizer")))
            throw new IllegalArgumentException("loadState: state of a " + root.get("optimizer") + " optimizer cannot load into " + name);
        if (!(root.get("groups") instanceof List<?> gs) || !(root.get("defaults") instanceof Map<?, ?> savedDefaults)
                || !(root.get("steps") instanceof Map<?, ?> steps))
            throw new IllegalArgumentException("loadState: " + name + " state needs groups (a list), defaults and steps (objects)");
        if (gs.size() != groups.size())
            throw new IllegalArgumentException("loadState: " + gs.size() + " parameter groups saved, " + groups.size() + " in this optimizer");
        Map<String, Double> newDefaults = options(savedDefaults, "defaults");
        List<Map<String, Double>> newOverrides = new ArrayList<>();
        for (int i = 0; i < gs.size(); i++) {
            if (!(gs.get(i) instanceof Map<?, ?> m))
                throw new IllegalArgumentException("loadState: group " + i + " is not an object");
            if (Json.asLong(m.get("params")) != groups.get(i).params().size())
                throw new IllegalArgumentException("loadState: group " + i + " had " + m.get("params") + " parameters, now " + groups.get(i).params().size());
            Map<Object, Object> withoutCount = new LinkedHashMap<>(m);
            withoutCount.remove("params");
            newOverrides.add(options(withoutCount, "group " + i));
        }
        List<Tensor> all = allParams();
        Map<Integer, Long> newSteps = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : steps.entrySet()) {
            int index = paramIndex(String.valueOf(e.getKey()), all.size());
            long step = Json.asLong(e.getValue());
            if (step < 0) throw new IllegalArgumentException("loadState: parameter " + index + " has a negative step count " + step);
            newSteps.put(index, step);
        }
        Map<Integer, Map<String, Tensor>> newTensors = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String key = e.getKey();
            int dot = key.indexOf('.');
            if (dot <= 0 || dot == key.length() - 1)
                throw new IllegalArgumentException("loadState: state tensor '" + key + "' is not named <parameter>.<key>");
            int index = paramIndex(key.substring(0, dot), all.size());
            if (!newSteps.containsKey(index))
                throw new IllegalArgumentException("loadState: tensor '" + key + "' for a parameter with no saved step");
            Tensor p = all.get(index);
            if (!Arrays.equals(e.getValue().shape(), p.shape()))
                throw new IllegalArgumentException("loadState: state tensor '" + key + "' has shape " + Arrays.toString(e.getValue().shape())
                        + " but parameter " + index + " has shape " + Arrays.toString(p.shape()));
            newTensors.computeIfAbsent(index, k -> new LinkedHashMap<>()).put(key.substring(dot + 1), e.getValue());
        }
        return () -> {
            defaults.putAll(newDefaults);
            for (int i = 0; i < groups.size(); i++) {
                groups.get(i).overrides().clear();
                newOverrides.get(i).forEach(groups.get(i)::set);
            }
            clearState();
            newSteps.forEach((index, step) -> state.computeIfAbsent(all.get(index), p -> new ParamState()).step = step);
            try (GradMode ng = GradMode.noGrad()) {
                newTensors.forEach((index, named) -> {
                    Tensor p = all.get(index);
                    named.forEach((k, t) -> state.get(p).tensors.put(k, Scope.escape(t.to(p.device()))));
                });
            }
        };
    }

    /** Saved options checked against this optimizer's names and each option's range. */
    private Map<String, Double> options(Map<?, ?> saved, String where) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : saved.entrySet()) {
            String option = String.valueOf(e.getKey());
            if (!defaults.containsKey(option))
                throw new IllegalArgumentException("loadState: " + where + " has option '" + option + "', which " + name + " does not have");
            double value = Json.asDouble(e.getValue());
            Hyperparameters.check(name, option, value);
            out.put(option, value);
        }
        return out;
    }

    private static int paramIndex(String text, int count) {
        int index;
        try {
            index = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("loadState: '" + text + "' is not a parameter number");
        }
        if (index < 0 || index >= count) throw new IllegalArgumentException("loadState: state for parameter " + index + " of " + count);
        return index;
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
