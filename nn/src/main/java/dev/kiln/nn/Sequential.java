package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Modules applied one after another; children are named "0", "1", ... as in PyTorch. */
public final class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();

    /**
     * A chain of {@code modules}, applied in order.
     *
     * @param modules the layers, named "0", "1", ...
     */
    public Sequential(Module... modules) {
        for (Module m : modules) add(m);
    }

    /**
     * Appends a layer, named by its position.
     *
     * @param m the layer
     * @return this chain
     */
    public Sequential add(Module m) {
        layers.add(registerModule(Integer.toString(layers.size()), m));
        return this;
    }

    /**
     * The layer at {@code index}.
     *
     * @param index the position, from 0
     * @return the layer
     */
    public Module get(int index) { return layers.get(index); }

    /**
     * {@return the number of layers}
     */
    public int size() { return layers.size(); }

    /**
     * {@return the layers in order, read-only}
     */
    public List<Module> modules() { return Collections.unmodifiableList(layers); }

    /** Intermediate activations are closed when the chain returns (their graph nodes keep what backward needs). */
    @Override
    public Tensor forward(Tensor input) {
        try (Scope s = Scope.open()) {
            Tensor x = input;
            for (Module m : layers) x = m.forward(x);
            return x == input ? x : s.keep(x);
        }
    }
}
