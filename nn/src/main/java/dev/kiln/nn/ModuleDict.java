package dev.kiln.nn;

import java.util.Map;
import java.util.Set;

/** Submodules by name, in insertion order. */
public final class ModuleDict extends Module {

    public ModuleDict put(String name, Module m) {
        registerModule(name, m);
        return this;
    }

    public Module get(String name) {
        Module m = children().get(name);
        if (m == null) throw new IllegalArgumentException("ModuleDict: no module '" + name + "'; have " + children().keySet());
        return m;
    }

    public boolean containsKey(String name) { return children().containsKey(name); }

    public Set<String> keys() { return children().keySet(); }

    public Map<String, Module> asMap() { return children(); }
}
