package dev.kiln.nn;

import java.util.Map;
import java.util.Set;

/** Submodules by name, in insertion order. */
public final class ModuleDict extends Module {
    /** An empty dictionary. */
    public ModuleDict() {}

    /**
     * Adds a submodule under {@code name}.
     *
     * @param name the name (no dots)
     * @param m the module
     * @return this dictionary
     */
    public ModuleDict put(String name, Module m) {
        registerModule(name, m);
        return this;
    }

    /**
     * The submodule named {@code name}.
     *
     * @param name the name
     * @return the module
     * @throws IllegalArgumentException if there is none
     */
    public Module get(String name) {
        Module m = children().get(name);
        if (m == null) throw new IllegalArgumentException("ModuleDict: no module '" + name + "'; have " + children().keySet());
        return m;
    }

    /**
     * Whether a submodule is named {@code name}.
     *
     * @param name the name
     * @return whether a submodule has it
     */
    public boolean containsKey(String name) { return children().containsKey(name); }

    /**
     * {@return the names, in insertion order}
     */
    public Set<String> keys() { return children().keySet(); }

    /**
     * {@return the submodules by name, read-only}
     */
    public Map<String, Module> asMap() { return children(); }
}
