package dev.kiln.nn;

import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Modules applied one after another; children are named "0", "1", ... as in PyTorch. */
public final class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();

    public Sequential(Module... modules) {
        for (Module m : modules) add(m);
    }

    public Sequential add(Module m) {
        layers.add(registerModule(Integer.toString(layers.size()), m));
        return this;
    }

    public Module get(int index) { return layers.get(index); }

    public int size() { return layers.size(); }

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
