package dev.kiln.opencl;

import dev.kiln.backend.Buffer;
import org.jocl.cl_mem;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A device buffer of {@code byteSize} usable bytes inside an allocation of {@code capacity} bytes (its size
 * class), owned by one {@link MemoryPool}.
 */
final class ClBuffer implements Buffer {
    final cl_mem mem;
    final long capacity;
    final MemoryPool owner;
    private final long byteSize;
    private final AtomicBoolean released = new AtomicBoolean();

    ClBuffer(cl_mem mem, long byteSize, long capacity, MemoryPool owner) {
        this.mem = mem;
        this.byteSize = byteSize;
        this.capacity = capacity;
        this.owner = owner;
    }

    @Override
    public long byteSize() { return byteSize; }

    /** Marks the buffer released; false if it already was. */
    boolean markReleased() { return released.compareAndSet(false, true); }

    boolean isReleased() { return released.get(); }

    @Override
    public String toString() { return "ClBuffer[" + byteSize + " bytes]"; }
}
