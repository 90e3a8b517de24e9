package dev.kiln.kernel;

import dev.kiln.backend.MemoryStats;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A caching allocator for one device over its runtime's raw allocations. Released buffers are kept per size class
 * and handed out again, because device allocations are slow and training loops allocate the same sizes every
 * step.
 *
 * <p>The reuse rule: a released buffer may go to the next allocation at once, without waiting for the kernels
 * that still read or write it, because every command goes to the runtime's one in-order stream and releases are
 * ordered with launches by the backend's lock, so whatever the new owner issues runs after them. A runtime with
 * several queues or streams could not reuse so freely: a buffer released on one would wait for an event recorded
 * at release (or stay in that stream's own free lists) before another could have it.
 * When the device is full the cache is freed and the allocation tried once more before failing clearly.
 */
final class MemoryPool<M> {
    private static final long MIN_CLASS = 256;
    private static final long MIB = 1 << 20;

    private final KernelRuntime<M> runtime;
    private final DeviceInfo device;
    private final Map<Long, ArrayDeque<M>> free = new HashMap<>();
    private long liveBytes, cachedBytes, peakLiveBytes;

    MemoryPool(KernelRuntime<M> runtime) {
        this.runtime = runtime;
        this.device = runtime.device();
    }

    /**
     * Size classes: powers of two up to 1 MiB, above that quarter steps between powers of two
     * (1, 1.25, 1.5, 1.75 x 2^k), so rounding wastes at most a quarter and near sizes share a class.
     */
    static long sizeClass(long bytes) {
        long b = Math.max(bytes, MIN_CLASS);
        if (b <= MIB) return Long.highestOneBit(b - 1) << 1;
        long step = Long.highestOneBit(b) / 4;
        return (b + step - 1) / step * step;
    }

    synchronized DeviceBuffer<M> allocate(long bytes) {
        long size = sizeClass(bytes);
        if (size > device.maxAllocBytes())
            throw new IllegalStateException(device.device() + " (" + device.name() + ") cannot allocate " + bytes
                    + " bytes in one buffer: its largest allocation is " + device.maxAllocBytes() + " bytes");
        ArrayDeque<M> cached = free.get(size);
        M mem;
        if (cached != null && !cached.isEmpty()) {
            mem = cached.pop();
            cachedBytes -= size;
        } else {
            if (liveBytes + cachedBytes + size > device.globalMemBytes()) emptyCache();
            mem = runtime.allocate(size);
            if (mem == null) {
                emptyCache();
                mem = runtime.allocate(size);
            }
            if (mem == null || liveBytes + size > device.globalMemBytes()) {
                if (mem != null) runtime.free(mem);
                throw new IllegalStateException(device.device() + " (" + device.name() + ") is out of memory: allocating " + bytes
                        + " bytes with " + liveBytes + " bytes live of " + device.globalMemBytes() + " (cache already freed)");
            }
        }
        liveBytes += size;
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return new DeviceBuffer<>(mem, bytes, size, this);
    }

    synchronized void release(DeviceBuffer<M> buffer) {
        if (buffer.owner != this) throw new IllegalArgumentException(buffer + " belongs to another device than " + device.device());
        if (!buffer.markReleased()) throw new IllegalStateException(buffer + " on " + device.device() + " was released twice");
        liveBytes -= buffer.capacity;
        cachedBytes += buffer.capacity;
        free.computeIfAbsent(buffer.capacity, k -> new ArrayDeque<>()).push(buffer.memory);
    }

    synchronized void emptyCache() {
        for (ArrayDeque<M> list : free.values())
            for (M m : list) runtime.free(m);
        free.clear();
        cachedBytes = 0;
    }

    synchronized MemoryStats stats() {
        return new MemoryStats(liveBytes, cachedBytes, peakLiveBytes);
    }
}
