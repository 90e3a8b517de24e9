package dev.kiln;

import java.util.ArrayList;

/**
 * Closes, when it closes, every tensor created on this thread while it was open, except those handed to
 * {@link #keep}. Scopes nest; a kept tensor moves to the enclosing scope (or to no scope), so
 * {@code return scope.keep(result)} hands a result up. A training loop opens one scope per step:
 *
 * <pre>{@code
 * for (var batch : loader) {
 *     try (Scope step = Scope.open()) {
 *         Tensor loss = model.forward(batch.x()).crossEntropy(batch.y());
 *         optimizer.zeroGrad();
 *         loss.backward();
 *         optimizer.step();
 *     }
 * }
 * }</pre>
 *
 * Gradients accumulated into parameters are not owned by the step's scope.
 *
 * <p>Every op registers its result here, so registration must be cheap: a scope appends to a list and the tensor
 * records its owner. A tensor that leaves (kept or untracked) stays in the list as a stale entry, skipped at
 * close because its owner is no longer this scope; the list is compacted when stale entries outnumber live ones.
 * A tensor a scope owns needs no Cleaner: the scope is reachable from its thread until it closes the tensor, so
 * only tensors that no scope owns guard their storage (see {@link Storage#guard}). When a thread ends with
 * scopes still open, the Cleaner guards what they own at that point, since nothing will ever close it.
 */
public final class Scope implements AutoCloseable {
    private static final ThreadLocal<ThreadScopes> CURRENT = ThreadLocal.withInitial(ThreadScopes::new);

    /** The innermost open scope of one thread. */
    private static final class Innermost {
        Scope scope;
    }

    /**
     * What the ThreadLocal holds: unreachable once its thread has ended. The Cleaner keeps only the
     * {@link Innermost} box, so it can still reach the scopes that were open then.
     */
    private static final class ThreadScopes {
        final Innermost innermost = new Innermost();
        /** Scopes this thread has opened: the next one's number, for messages. */
        long opened;

        ThreadScopes() {
            Innermost box = innermost;
            Storage.CLEANER.register(this, () -> guardAbandoned(box.scope));
        }
    }

    private static void guardAbandoned(Scope innermost) {
        for (Scope s = innermost; s != null; s = s.parent)
            for (Tensor t : s.registered) if (t.owner == s) t.storage.guard();
    }

    /**
     * {@code -Dkiln.debugScopes=true}: each scope records the code that opened it, for the message a use of a tensor
     * it closed raises. Off by default: finding the caller costs microseconds, and the optimizer alone opens a scope
     * per parameter per step.
     */
    private static final boolean RECORD_OPENING_SITE = Boolean.getBoolean("kiln.debugScopes");
    private static final StackWalker WALKER = StackWalker.getInstance();

    private final Scope parent;
    private final Thread thread = Thread.currentThread();
    private final long number;
    private final StackWalker.StackFrame openedAt;
    private final ArrayList<Tensor> registered = new ArrayList<>();
    private int owned;
    private boolean closed;

    private Scope(Scope parent, long number, StackWalker.StackFrame openedAt) {
        this.parent = parent;
        this.number = number;
        this.openedAt = openedAt;
    }

    /**
     * {@return a new scope, now this thread's innermost} Close it with try-with-resources.
     */
    public static Scope open() {
        ThreadScopes scopes = CURRENT.get();
        Innermost innermost = scopes.innermost;
        StackWalker.StackFrame site = RECORD_OPENING_SITE ? WALKER.walk(frames -> frames.skip(1).findFirst().orElse(null)) : null;
        Scope s = new Scope(innermost.scope, ++scopes.opened, site);
        innermost.scope = s;
        return s;
    }

    /** Why a tensor this scope closed can no longer be used, and what to do instead. */
    String closedTensorAdvice() {
        return "when scope #" + number + " ("
                + (openedAt != null ? "opened at " + openedAt.toStackTraceElement() : "run with -Dkiln.debugScopes=true to see where it was opened")
                + ") closed; call scope.keep(t) or create it outside the scope";
    }

    /** Hands a new tensor to this thread's innermost scope; false when no scope is open. */
    static boolean register(Tensor t) {
        Scope s = CURRENT.get().innermost.scope;
        if (s == null) return false;
        s.adopt(t);
        return true;
    }

    private void adopt(Tensor t) {
        t.owner = this;
        owned++;
        registered.add(t);
    }

    /** Forgets {@code t}; its entry in the list goes stale. */
    private void disown(Tensor t) {
        t.owner = null;
        owned--;
        if (registered.size() > 2 * owned + 64) registered.removeIf(x -> x.owner != this);
    }

    /** Removes a tensor from the scope on this thread that owns it, if any, so it outlives them all. */
    static void untrack(Tensor t) {
        for (Scope s = CURRENT.get().innermost.scope; s != null; s = s.parent) {
            if (s == t.owner) {
                s.disown(t);
                break;
            }
        }
        t.storage.guard();
    }

    /**
     * Removes {@code t} from every scope open on this thread, so it outlives them all and its caller owns it:
     * for long-lived state created mid-step (optimizer moments, replaced module buffers).
     *
     * @param t the tensor
     * @return t
     */
    public static Tensor escape(Tensor t) {
        untrack(t);
        return t;
    }

    /**
     * Keeps {@code t} open past this scope: it belongs to the enclosing scope, if any.
     *
     * @param t a tensor (one this scope does not own is returned unchanged)
     * @return t
     */
    public Tensor keep(Tensor t) {
        if (t.owner != this) return t;
        disown(t);
        if (parent != null) parent.adopt(t);
        else t.storage.guard();
        return t;
    }

    /**
     * Number of tensors this scope will close.
     *
     * @return the count
     */
    public int size() { return owned; }

    /**
     * Closes this scope's tensors. Closing it from another thread than the one that opened it is refused and
     * changes nothing (that thread may still close it). Closing it while scopes opened inside it are still open
     * closes those first, so the thread is never left inside a closed scope, then reports the misuse.
     */
    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread)
            throw new IllegalStateException("a scope must be closed by the thread that opened it (" + thread.getName() + "), not "
                    + Thread.currentThread().getName() + "; it is still open");
        Innermost innermost = CURRENT.get().innermost;
        int unclosedInner = 0;
        for (Scope s = innermost.scope; s != this; s = s.parent) {
            if (s == null) throw new IllegalStateException("scope is not open on this thread");
            unclosedInner++;
        }
        while (innermost.scope != this) {
            innermost.scope.closeOwned(innermost);
        }
        closeOwned(innermost);
        if (unclosedInner > 0)
            throw new IllegalStateException("scopes must close in the reverse order they opened: " + unclosedInner
                    + " scope(s) opened inside this one were still open and were closed with it");
    }

    private void closeOwned(Innermost innermost) {
        closed = true;
        innermost.scope = parent;
        for (Tensor t : registered) {
            if (t.owner != this) continue;
            t.owner = null;
            t.closedBy = this;
            t.close();
        }
        registered.clear();
        owned = 0;
    }
}
