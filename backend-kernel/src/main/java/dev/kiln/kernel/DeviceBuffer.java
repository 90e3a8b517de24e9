package dev.kiln.kernel;

import dev.kiln.backend.Buffer;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A device buffer of {@code byteSize} usable bytes inside a raw allocation of {@code capacity} bytes (its size
 * class), owned by one {@link MemoryPool}.
 */
final class DeviceBuffer<M> implements Buffer {
    final M memory;
    final long capacity;
    final MemoryPool<M> owner;
    private final long byteSize;
    private final AtomicBoolean released = new AtomicBoolean();

    DeviceBuffer(M memory, long byteSize, long capacity, MemoryPool<M> owner) {
        this.memory = memory;
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
    public String toString() { return "DeviceBuffer[" + byteSize + " bytes]"; }
}
