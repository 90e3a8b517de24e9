package dev.kiln;

import dev.kiln.backend.Backend;
import dev.kiln.backend.Buffer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;

/**
 * A device buffer shared by a tensor and its views, reference counted: each tensor holds one reference and
 * releases it on {@link Tensor#close()}; the buffer goes back to its backend when the last one is released.
 *
 * <p>A {@link Cleaner} frees buffers whose tensors were dropped without being closed; it is a safety net, not the
 * plan. Registering with a Cleaner costs more than a small op itself, so it happens only once a handle on the
 * storage exists that no {@link Scope} will close ({@link #guard}): a scope is reachable from its thread until it
 * closes what it owns, so storage whose handles all belong to scopes cannot be dropped unclosed. (The exception is a
 * scope still open when its thread ends: storage that only it owned is never freed.)
 */
final class Storage {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final VarHandle REFS;

    static {
        try {
            REFS = MethodHandles.lookup().findVarHandle(Storage.class, "refs", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Backend backend;
    final Buffer buffer;
    @SuppressWarnings("unused") // updated through REFS
    private volatile int refs = 1;
    private volatile Cleaner.Cleanable cleanable;

    Storage(Backend backend, Buffer buffer) {
        this.backend = backend;
        this.buffer = buffer;
    }

    /** Registers the safety net, once: called for every handle that no scope owns. */
    void guard() {
        if (cleanable != null) return;
        // Two threads may guard handles on one storage at once; a second registration would free the buffer twice.
        synchronized (this) {
            if (cleanable == null) cleanable = CLEANER.register(this, new Releaser(backend, buffer));
        }
    }

    void retain() {
        int before = (int) REFS.getAndAdd(this, 1);
        if (before <= 0) throw new IllegalStateException("storage already freed");
    }

    void release() {
        if ((int) REFS.getAndAdd(this, -1) != 1) return;
        Cleaner.Cleanable c = cleanable;
        if (c != null) c.clean();
        else backend.release(buffer);
    }

    boolean isFreed() { return refs <= 0; }

    /** Holds no reference to the Storage itself, as the Cleaner requires. */
    private record Releaser(Backend backend, Buffer buffer) implements Runnable {
        @Override
        public void run() { backend.release(buffer); }
    }
}
