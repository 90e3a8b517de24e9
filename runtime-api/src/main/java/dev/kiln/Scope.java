package dev.kiln;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Closes, when it closes, every tensor created on this thread while it was open, except those handed to
 * {@link #keep}. Scopes nest; a kept tensor moves to the enclosing scope (or to no scope), so
 * {@code return scope.keep(result)} hands a result up. A training loop opens one scope per step:
 *
 * <pre>{@code
 * for (var batch : loader) {
 *     try (Scope step = Scope.open()) {
 *         Tensor loss = model.forward(batch.x()).crossEntropy(batch.y());
 *         loss.backward();
 *         optimizer.step();
 *     }
 * }
 * }</pre>
 *
 * Gradients accumulated into parameters are not owned by the step's scope.
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

    private final Scope parent;
    private final Map<Tensor, Boolean> owned = new IdentityHashMap<>();
    private boolean closed;

    private Scope(Scope parent) {
        this.parent = parent;
    }

    public static Scope open() {
        Scope s = new Scope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    static void register(Tensor t) {
        Scope s = CURRENT.get();
        if (s != null) s.owned.put(t, Boolean.TRUE);
    }

    /** Removes a tensor from whatever scope owns it on this thread, so it outlives them all. */
    static void untrack(Tensor t) {
        for (Scope s = CURRENT.get(); s != null; s = s.parent) {
            if (s.owned.remove(t) != null) return;
        }
    }

    /**
     * Removes {@code t} from every scope open on this thread, so it outlives them all and its caller owns it:
     * for long-lived state created mid-step (optimizer moments, replaced module buffers).
     */
    public static Tensor escape(Tensor t) {
        untrack(t);
        return t;
    }

    /** Keeps {@code t} open past this scope: it belongs to the enclosing scope, if any. */
    public Tensor keep(Tensor t) {
        if (owned.remove(t) != null && parent != null) parent.owned.put(t, Boolean.TRUE);
        return t;
    }

    /** Number of tensors this scope will close. */
    public int size() { return owned.size(); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (CURRENT.get() != this) throw new IllegalStateException("scopes must close in the reverse order they opened");
        CURRENT.set(parent);
        List<Tensor> toClose = new ArrayList<>(owned.keySet());
        owned.clear();
        for (Tensor t : toClose) t.close();
    }
}
