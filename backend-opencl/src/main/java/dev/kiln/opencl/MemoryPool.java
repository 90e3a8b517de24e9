package dev.kiln.opencl;

import dev.kiln.backend.MemoryStats;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.cl_context;
import org.jocl.cl_mem;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A caching allocator for one device. Released buffers are kept per size class and handed out again, because
 * creating OpenCL buffers is slow and training loops allocate the same sizes every step.
 *
 * <p>The reuse rule: a released buffer may go to the next allocation at once, without waiting for the kernels
 * that still read or write it, because every command goes to the backend's one in-order queue and releases are
 * ordered with enqueues by the backend's lock, so whatever the new owner enqueues runs after them. A backend with
 * several queues or streams could not reuse so freely: a buffer released on one would wait for an event recorded
 * at release (or stay in that stream's own free lists) before another could have it.
 * When the device is full the cache is freed and the allocation tried once more before failing clearly.
 */
final class MemoryPool {
    private static final long MIN_CLASS = 256;
    private static final long MIB = 1 << 20;

    private final cl_context context;
    private final String deviceName;
    private final long globalMemBytes;
    private final long maxAllocBytes;
    private final Map<Long, ArrayDeque<cl_mem>> free = new HashMap<>();
    private long liveBytes, cachedBytes, peakLiveBytes;

    MemoryPool(cl_context context, String deviceName, long globalMemBytes, long maxAllocBytes) {
        this.context = context;
        this.deviceName = deviceName;
        this.globalMemBytes = globalMemBytes;
        this.maxAllocBytes = maxAllocBytes;
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

    synchronized ClBuffer allocate(long bytes) {
        long size = sizeClass(bytes);
        if (size > maxAllocBytes)
            throw new IllegalStateException("OpenCL device " + deviceName + " cannot allocate " + bytes
                    + " bytes in one buffer: its largest allocation is " + maxAllocBytes + " bytes");
        ArrayDeque<cl_mem> cached = free.get(size);
        cl_mem mem;
        if (cached != null && !cached.isEmpty()) {
            mem = cached.pop();
            cachedBytes -= size;
        } else {
            if (liveBytes + cachedBytes + size > globalMemBytes) emptyCache();
            mem = tryCreate(size);
            if (mem == null) {
                emptyCache();
                mem = tryCreate(size);
            }
            if (mem == null || liveBytes + size > globalMemBytes) {
                if (mem != null) CL.clReleaseMemObject(mem);
                throw new IllegalStateException("OpenCL device " + deviceName + " is out of memory: allocating " + bytes
                        + " bytes with " + liveBytes + " bytes live of " + globalMemBytes + " (cache already freed)");
            }
        }
        liveBytes += size;
        peakLiveBytes = Math.max(peakLiveBytes, liveBytes);
        return new ClBuffer(mem, bytes, size, this);
    }

    private cl_mem tryCreate(long size) {
        try {
            return CL.clCreateBuffer(context, CL.CL_MEM_READ_WRITE, size, null, null);
        } catch (CLException e) {
            if (e.getStatus() == CL.CL_MEM_OBJECT_ALLOCATION_FAILURE || e.getStatus() == CL.CL_OUT_OF_RESOURCES
                    || e.getStatus() == CL.CL_OUT_OF_HOST_MEMORY) return null;
            throw e;
        }
    }

    synchronized void release(ClBuffer buffer) {
        if (buffer.owner != this) throw new IllegalArgumentException(buffer + " belongs to another OpenCL device than " + deviceName);
        if (!buffer.markReleased()) throw new IllegalStateException(buffer + " on " + deviceName + " was released twice");
        liveBytes -= buffer.capacity;
        cachedBytes += buffer.capacity;
        free.computeIfAbsent(buffer.capacity, k -> new ArrayDeque<>()).push(buffer.mem);
    }

    synchronized void emptyCache() {
        for (ArrayDeque<cl_mem> list : free.values())
            for (cl_mem m : list) CL.clReleaseMemObject(m);
        free.clear();
        cachedBytes = 0;
    }

    synchronized MemoryStats stats() {
        return new MemoryStats(liveBytes, cachedBytes, peakLiveBytes);
    }
}
