package dev.kiln;

import dev.kiln.backend.Backend;
import dev.kiln.backend.Buffer;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A device buffer shared by a tensor and its views, reference counted: each tensor holds one reference and
 * releases it on {@link Tensor#close()}; the buffer goes back to its backend when the last one is released.
 * A {@link Cleaner} frees buffers whose tensors were dropped without being closed; it is a safety net, not the
 * plan.
 */
final class Storage {
    private static final Cleaner CLEANER = Cleaner.create();

    final Backend backend;
    final Buffer buffer;
    private final Releaser releaser;
    private final Cleaner.Cleanable cleanable;

    Storage(Backend backend, Buffer buffer) {
        this.backend = backend;
        this.buffer = buffer;
        this.releaser = new Releaser(backend, buffer);
        this.cleanable = CLEANER.register(this, releaser);
    }

    void retain() {
        int before = releaser.refs.getAndIncrement();
        if (before <= 0) throw new IllegalStateException("storage already freed");
    }

    void release() {
        if (releaser.refs.decrementAndGet() == 0) cleanable.clean();
    }

    boolean isFreed() { return releaser.refs.get() <= 0; }

    /** Holds no reference to the Storage itself, as the Cleaner requires. */
    private static final class Releaser implements Runnable {
        final Backend backend;
        final Buffer buffer;
        final AtomicInteger refs = new AtomicInteger(1);

        Releaser(Backend backend, Buffer buffer) {
            this.backend = backend;
            this.buffer = buffer;
        }

        @Override
        public void run() {
            refs.set(0);
            backend.release(buffer);
        }
    }
}
