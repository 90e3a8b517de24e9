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
 * closes what it owns, so storage whose handles all belong to scopes cannot be dropped unclosed. Scopes still
 * open when their thread ends guard what they own then (see {@link Scope}).
 *
 * <p>The backend sees only views of the buffer, not this object, so an op could drop its last reference to a
 * temporary tensor while the backend call it passed the view to still runs, and the Cleaner could release the
 * buffer mid-call. Every op therefore fences the tensors whose views it passes on
 * ({@link java.lang.ref.Reference#reachabilityFence} after the backend call).
 */
final class Storage {
    static final Cleaner CLEANER = Cleaner.create();
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
    private final Releaser releaser;
    @SuppressWarnings("unused") // updated through REFS
    private volatile int refs = 1;
    private volatile Cleaner.Cleanable cleanable;
    /**
     * Bumped by every in-place write through any handle on this storage (views and {@code detach()} aliases
     * included), so a backward pass can tell that a tensor it saved has changed since (PyTorch's version counter).
     * Racing writers may lose an increment; the counter still moves, which is all a comparison needs.
     */
    private volatile int version;

    Storage(Backend backend, Buffer buffer) {
        this.backend = backend;
        this.buffer = buffer;
        this.releaser = new Releaser(backend, buffer);
    }

    /**
     * Runs a full collection and waits (a bounded time) until the Cleaner has run what it found: a sentinel made
     * unreachable now is found by the same collection as every storage dropped before, so its action runs after
     * most of theirs have been queued.
     */
    static void collectDropped() {
        java.util.concurrent.CountDownLatch cleaned = new java.util.concurrent.CountDownLatch(1);
        CLEANER.register(new Object(), cleaned::countDown);
        System.gc();
        try {
            cleaned.await(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Registers the safety net, once: called for every handle that no scope owns. Not locked: a rare second
     * registration by a racing thread, or one after the last release, is harmless because the releaser runs once.
     */
    void guard() {
        if (cleanable == null && !isFreed()) cleanable = CLEANER.register(this, releaser);
    }

    void retain() {
        int before = (int) REFS.getAndAdd(this, 1);
        if (before <= 0) throw new IllegalStateException("storage already freed");
    }

    void release() {
        if ((int) REFS.getAndAdd(this, -1) != 1) return;
        Cleaner.Cleanable c = cleanable;
        if (c != null) c.clean();
        else releaser.run();
    }

    boolean isFreed() { return refs <= 0; }

    /** Whether one handle alone holds this memory (no view or alias shares it). */
    boolean exclusive() { return refs == 1; }

    int version() { return version; }

    @SuppressWarnings("NonAtomicOperationOnVolatileField") // see the field
    void bumpVersion() { version++; }

    /** Hands the buffer back at most once, whoever asks first. Holds no reference to the Storage, as the Cleaner requires. */
    private static final class Releaser implements Runnable {
        private static final VarHandle DONE;

        static {
            try {
                DONE = MethodHandles.lookup().findVarHandle(Releaser.class, "done", boolean.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final Backend backend;
        private final Buffer buffer;
        @SuppressWarnings("unused") // updated through DONE
        private volatile boolean done;

        Releaser(Backend backend, Buffer buffer) {
            this.backend = backend;
            this.buffer = buffer;
        }

        @Override
        public void run() {
            if (DONE.compareAndSet(this, false, true)) backend.release(buffer);
        }
    }
}
