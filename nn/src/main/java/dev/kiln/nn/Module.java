package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The base of every layer and model, as in PyTorch: named parameters (tensors that require gradients), named
 * buffers (state that is saved but not trained, such as batch-norm running statistics), named submodules, and
 * a training flag.
 *
 * <p>Subclasses register what they own in their constructor and read it back by name ({@link #param},
 * {@link #buffer}) in {@code forward}, so {@link #to(Device)} can replace the tensors without the subclass
 * holding stale references. Names nest with dots: {@code features.0.weight}.
 *
 * <p>A module owns its tensors; {@link #close()} releases them.
 *
 */
public abstract class Module implements AutoCloseable {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** A module with nothing registered yet, in training mode; subclasses register what they own. */
    protected Module() {}

    /**
     * The module applied to one input. Modules that take several inputs (losses, attention) define their own
     * {@code forward} overloads and refuse this one.
     *
     * @param input the input
     * @return the output
     * @throws UnsupportedOperationException if the module takes several inputs
     */
    public Tensor forward(Tensor input) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " does not take a single input; use its own forward overload");
    }

    // ---- registration ------------------------------------------------------------------------------------

    /** Registers a trainable tensor: it is made to require a gradient and is owned by this module. */
    protected final Tensor registerParameter(String name, Tensor value) {
        checkName(name);
        if (!value.dtype().isFloatingPoint())
            throw new IllegalArgumentException(getClass().getSimpleName() + ": parameter '" + name + "' must be floating point, got " + value.dtype());
        value.requiresGrad(true);
        Scope.escape(value);
        parameters.put(name, value);
        return value;
    }

    /** Registers saved, untrained state (running statistics, masks). */
    protected final Tensor registerBuffer(String name, Tensor value) {
        checkName(name);
        Scope.escape(value);
        buffers.put(name, value);
        return value;
    }

    protected final <M extends Module> M registerModule(String name, M module) {
        checkName(name);
        children.put(name, module);
        return module;
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains("."))
            throw new IllegalArgumentException(getClass().getSimpleName() + ": bad name '" + name + "' (non-empty, no dots)");
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException(getClass().getSimpleName() + ": '" + name + "' is already registered");
    }

    /** This module's own parameter {@code name}. */
    protected final Tensor param(String name) {
        Tensor t = parameters.get(name);
        if (t == null) throw new IllegalStateException(getClass().getSimpleName() + " has no parameter '" + name + "'");
        return t;
    }

    /** This module's own parameter {@code name}, or null when it was not registered (an optional bias). */
    protected final Tensor optionalParam(String name) { return parameters.get(name); }

    protected final Tensor buffer(String name) {
        Tensor t = buffers.get(name);
        if (t == null) throw new IllegalStateException(getClass().getSimpleName() + " has no buffer '" + name + "'");
        return t;
    }

    /** This module's own buffer {@code name}, or null when it was not registered. */
    protected final Tensor optionalBuffer(String name) { return buffers.get(name); }

    /** Replaces the value of one of this module's own buffers (the old tensor is closed). */
    protected final void setBuffer(String name, Tensor value) {
        Tensor old = buffer(name);
        Scope.escape(value);
        buffers.put(name, value);
        if (old != value) old.close();
    }

    // ---- traversal -----------------------------------------------------------------------------------------

    /**
     * Every parameter of this module and its descendants, by dotted name, in registration order.
     *
     * @return the parameters by name
     */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        walk("", (prefix, m) -> m.parameters.forEach((n, t) -> out.put(prefix + n, t)));
        return out;
    }

    /**
     * {@return every parameter, in {@link #namedParameters} order: what an optimizer takes}
     */
    public final List<Tensor> parameters() { return new ArrayList<>(namedParameters().values()); }

    /**
     * {@return every buffer of this module and its descendants, by dotted name, in registration order}
     */
    public final Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        walk("", (prefix, m) -> m.buffers.forEach((n, t) -> out.put(prefix + n, t)));
        return out;
    }

    /**
     * Direct submodules by name.
     *
     * @return the children by name, read-only
     */
    public final Map<String, Module> children() { return Collections.unmodifiableMap(children); }

    /**
     * This module and every descendant by dotted name; this module's name is "".
     *
     * @return the modules by name
     */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        walk("", (prefix, m) -> out.put(prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1), m));
        return out;
    }

    private interface Visitor {
        void visit(String prefix, Module m);
    }

    private void walk(String prefix, Visitor v) {
        v.visit(prefix, this);
        children.forEach((n, c) -> c.walk(prefix + n + ".", v));
    }

    /**
     * Applies {@code fn} to this module and every descendant.
     *
     * @param fn what to do with each module
     */
    public final void apply(Consumer<Module> fn) { walk("", (p, m) -> fn.accept(m)); }

    /**
     * Total number of parameter elements.
     *
     * @return the count
     */
    public final long parameterCount() {
        long n = 0;
        for (Tensor t : namedParameters().values()) n += t.numel();
        return n;
    }

    /**
     * {@return each layer's output shape and parameter count for a float32 input of {@code inputShape}} As
     * torchinfo's {@code summary}: see {@link ModuleSummary} for how the shapes are found.
     *
     * @param inputShape the input's shape, batch dimension included
     */
    public final ModuleSummary summary(int... inputShape) { return ModuleSummary.of(this, DType.FLOAT32, inputShape); }

    /**
     * {@return each layer's output shape and parameter count for an input of {@code dtype} and {@code inputShape}}
     * For models that take indices (an {@code Embedding} first): {@code summary(DType.INT64, batch, length)}.
     *
     * @param dtype the input's element type
     * @param inputShape the input's shape, batch dimension included
     */
    public final ModuleSummary summary(DType dtype, int... inputShape) { return ModuleSummary.of(this, dtype, inputShape); }

    // ---- modes and devices -----------------------------------------------------------------------------

    /**
     * {@return whether this module is in training mode}
     */
    public final boolean isTraining() { return training; }

    /**
     * Training mode (dropout active, batch norm on batch statistics) for this module and its descendants.
     *
     * @param on true for training mode, false for evaluation
     * @return this module
     */
    public final Module train(boolean on) {
        apply(m -> m.setTraining(on));
        return this;
    }

    /** Sets this module's own flag only (not its descendants'). */
    final void setTraining(boolean on) { training = on; }

    /**
     * Training mode for this module and its descendants.
     *
     * @return this module
     */
    public final Module train() { return train(true); }

    /**
     * Evaluation mode (dropout off, batch norm on running statistics) for this module and its descendants.
     *
     * @return this module
     */
    public final Module eval() { return train(false); }

    /**
     * Moves every parameter and buffer to {@code device}. Parameters are replaced by new leaf tensors, so build
     * optimizers after moving the model.
     *
     * @param device the device
     * @return this module
     */
    public final Module to(Device device) {
        apply(m -> {
            m.parameters.replaceAll((n, t) -> t.device().equals(device) ? t : moved(t, device, true));
            m.buffers.replaceAll((n, t) -> t.device().equals(device) ? t : moved(t, device, false));
        });
        return this;
    }

    /**
     * Converts floating-point parameters and buffers to {@code dtype}.
     *
     * @param dtype a floating-point type
     * @return this module
     * @throws IllegalArgumentException if dtype is not floating point
     */
    public final Module to(DType dtype) {
        if (!dtype.isFloatingPoint()) throw new IllegalArgumentException("Module.to: parameters must stay floating point, got " + dtype);
        apply(m -> {
            m.parameters.replaceAll((n, t) -> t.dtype() == dtype ? t : converted(t, dtype, true));
            m.buffers.replaceAll((n, t) -> !t.dtype().isFloatingPoint() || t.dtype() == dtype ? t : converted(t, dtype, false));
        });
        return this;
    }

    private static Tensor moved(Tensor t, Device device, boolean trainable) {
        try (GradMode g = GradMode.noGrad(); t) {
            return adopt(t.to(device), trainable);
        }
    }

    private static Tensor converted(Tensor t, DType dtype, boolean trainable) {
        try (GradMode g = GradMode.noGrad(); t) {
            return adopt(t.to(dtype), trainable);
        }
    }

    private static Tensor adopt(Tensor t, boolean trainable) {
        Scope.escape(t);
        return trainable ? t.requiresGrad(true) : t;
    }

    /** Clears every parameter's gradient (sets it to null, as PyTorch does by default). */
    public final void zeroGrad() {
        for (Tensor p : namedParameters().values()) p.setGrad(null);
    }

    // ---- state dict ------------------------------------------------------------------------------------

    /**
     * Parameters then buffers, by dotted name: the tensors themselves, not copies.
     *
     * @return the state by name
     */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        walk("", (prefix, m) -> {
            m.parameters.forEach((n, t) -> out.put(prefix + n, t));
            m.buffers.forEach((n, t) -> out.put(prefix + n, t));
        });
        return out;
    }

    /**
     * Copies values into this module's parameters and buffers. With {@code strict}, the names must match
     * exactly; shapes must always match. All of it is checked before anything is copied. PyTorch's
     * {@code load_state_dict}.
     *
     * @param state the values by dotted name, as {@link #stateDict} gives them
     * @param strict whether every name must match (else names absent on either side are skipped)
     * @throws IllegalArgumentException if names (when strict) or shapes do not match
     */

    public final void loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = stateDict();
        if (strict) {
            List<String> missing = new ArrayList<>(own.keySet());
            missing.removeAll(state.keySet());
            List<String> unexpected = new ArrayList<>(state.keySet());
            unexpected.removeAll(own.keySet());
            if (!missing.isEmpty() || !unexpected.isEmpty())
                throw new IllegalArgumentException("loadStateDict: " + getClass().getSimpleName() + " state does not match; missing "
                        + missing + ", unexpected " + unexpected);
        }
        // Every shape is checked before anything is copied, so a mismatch leaves the module as it was.
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src != null && !Arrays.equals(src.shape(), e.getValue().shape()))
                throw new IllegalArgumentException("loadStateDict: '" + e.getKey() + "' has shape " + Arrays.toString(src.shape())
                        + " in the state but " + Arrays.toString(e.getValue().shape()) + " in the module");
        }
        try (GradMode g = GradMode.noGrad()) {
            for (Map.Entry<String, Tensor> e : own.entrySet()) {
                Tensor src = state.get(e.getKey());
                if (src != null) e.getValue().copy_(src);
            }
        }
    }

    /**
     * Copies values into this module's parameters and buffers; the names must match exactly.
     *
     * @param state tensors by dotted name, as {@link #stateDict} gives them
     * @throws IllegalArgumentException if the names or shapes do not match
     */
    public final void loadStateDict(Map<String, Tensor> state) { loadStateDict(state, true); }

    /** Releases every parameter, gradient and buffer of this module and its descendants. */
    @Override
    public void close() {
        apply(m -> {
            m.parameters.values().forEach(Tensor::close);
            m.buffers.values().forEach(Tensor::close);
        });
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(describe());
        if (!children.isEmpty()) {
            sb.append("(\n");
            children.forEach((n, c) -> sb.append("  (").append(n).append("): ").append(c.toString().replace("\n", "\n  ")).append('\n'));
            sb.append(')');
        }
        return sb.toString();
    }

    /** One line for {@link #toString()}: the class name and its settings, e.g. {@code Linear(784, 10)}. */
    protected String describe() { return getClass().getSimpleName(); }
}
