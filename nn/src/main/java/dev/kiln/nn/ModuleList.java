package dev.kiln.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/** An indexed list of submodules whose parameters belong to the parent; children are named "0", "1", .... */
public final class ModuleList extends Module implements Iterable<Module> {
    private final List<Module> items = new ArrayList<>();

    /**
     * A list of {@code modules}, named "0", "1", ...
     *
     * @param modules the submodules
     */
    public ModuleList(Module... modules) {
        for (Module m : modules) add(m);
    }

    /**
     * Appends a submodule, named by its position.
     *
     * @param m the module
     * @return this list
     */
    public ModuleList add(Module m) {
        items.add(registerModule(Integer.toString(items.size()), m));
        return this;
    }

    /**
     * The submodule at {@code index}.
     *
     * @param index the position, from 0
     * @return the module
     */
    public Module get(int index) { return items.get(index); }

    /**
     * {@return the number of submodules}
     */
    public int size() { return items.size(); }

    @Override
    public Iterator<Module> iterator() { return Collections.unmodifiableList(items).iterator(); }
}
