package dev.kiln.cpu;

import dev.kiln.backend.OutOfDeviceMemoryException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;

/**
 * A caching allocator for host memory. Creating and closing a shared arena costs microseconds (closing must
 * reach every thread), so released blocks go back to a free list and are reused; {@link #trim} hands the cache
 * back to the system, and an allocation that fails trims and retries once before throwing
 * {@link OutOfDeviceMemoryException} (on which the tensor layer collects dropped tensors and tries again).
 * Blocks are 64-byte aligned: a cache line and an AVX-512 vector.
 *
 * <p>Small blocks (up to 1 MiB) come from arenas in power-of-two size classes. Large ones are the requested size
 * rounded to a page, from the C library's {@code aligned_alloc}: rounding a 1028 MiB tensor up to 2 GiB, and
 * zero-filling it as an arena does, cost twice the resident memory and seconds per gigabyte for an {@code empty}
 * whose contents are undefined anyway (fresh pages from the system are mapped lazily). They are cached by exact
 * size, which is what training loops ask for again.
 *
 * <p>The byte counters live under the same lock as the free lists: allocating and releasing then take one
 * uncontended lock each, where separate atomics cost two or three more atomic updates per small op.
 */
final class SegmentCache {
    private static final int MIN_CLASS = 6;
    private static final int MAX_SMALL_CLASS = 20;
    private static final long PAGE = 4096;
    private static final long ALIGNMENT = 64;
    private static final long MAX_CACHED_BYTES = 2L << 30;
    /** Beyond this no system has the memory, and rounding to a page could overflow. */
    private static final long MAX_BYTES = 1L << 56;

    private static final MethodHandle ALIGNED_ALLOC, FREE;

    static {
        Linker linker = Linker.nativeLinker();
        ALIGNED_ALLOC = linker.downcallHandle(linker.defaultLookup().find("aligned_alloc").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
        FREE = linker.downcallHandle(linker.defaultLookup().find("free").orElseThrow(), FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
    }

    /** A cached block: from an arena (small) or from aligned_alloc (large, {@code arena} null). */
    record Block(Arena arena, MemorySegment segment, long capacity) {
        void free() {
            if (arena != null) {
                arena.close();
                return;
            }
            try {
                FREE.invokeExact(segment);
            } catch (Throwable t) {
                throw new IllegalStateException("cpu: free failed", t);
            }
        }
    }

    private final ArrayDeque<Block>[] small;
    private final Map<Long, ArrayDeque<Block>> large = new HashMap<>();
    private long live;
    private long peak;
    private long cached;

    @SuppressWarnings("unchecked")
    SegmentCache() {
        small = new ArrayDeque[MAX_SMALL_CLASS + 1];
        for (int i = 0; i <= MAX_SMALL_CLASS; i++) small[i] = new ArrayDeque<>();
    }

    /** The bytes a request occupies: a power of two up to 1 MiB, else whole pages. */
    static long capacity(long bytes) {
        int c = Math.max(MIN_CLASS, 64 - Long.numberOfLeadingZeros(Math.max(1, bytes) - 1));
        return c <= MAX_SMALL_CLASS ? 1L << c : (bytes + PAGE - 1) / PAGE * PAGE;
    }

    private ArrayDeque<Block> freeList(long capacity) {
        if (capacity <= 1L << MAX_SMALL_CLASS) return small[Long.numberOfTrailingZeros(capacity)];
        return large.computeIfAbsent(capacity, k -> new ArrayDeque<>());
    }

    CpuBuffer allocate(long bytes) {
        if (bytes < 0 || bytes > MAX_BYTES)
            throw new OutOfDeviceMemoryException("cpu: cannot allocate " + bytes + " bytes (at most " + MAX_BYTES + ")");
        long capacity = capacity(bytes);
        Block block;
        synchronized (this) {
            block = freeList(capacity).pollFirst();
            if (block != null) {
                cached -= capacity;
                countLive(capacity);
            }
        }
        if (block == null) {
            block = fresh(capacity, bytes);
            synchronized (this) {
                countLive(capacity);
            }
        }
        return new CpuBuffer(block, bytes);
    }

    private void countLive(long capacity) {
        live += capacity;
        peak = Math.max(peak, live);
    }

    private Block fresh(long capacity, long requested) {
        for (int attempt = 0; ; attempt++) {
            Block b = capacity <= 1L << MAX_SMALL_CLASS ? fromArena(capacity) : fromSystem(capacity);
            if (b != null) return b;
            if (attempt > 0)
                throw new OutOfDeviceMemoryException("cpu: out of memory allocating " + requested + " bytes (" + liveBytes() + " bytes live)");
            trim();
        }
    }

    private static Block fromArena(long capacity) {
        Arena arena = Arena.ofShared();
        try {
            return new Block(arena, arena.allocate(capacity, ALIGNMENT), capacity);
        } catch (OutOfMemoryError e) {
            arena.close();
            return null;
        }
    }

    private static Block fromSystem(long capacity) {
        MemorySegment at;
        try {
            at = (MemorySegment) ALIGNED_ALLOC.invokeExact(ALIGNMENT, capacity);
        } catch (Throwable t) {
            throw new IllegalStateException("cpu: aligned_alloc failed", t);
        }
        return at.address() == 0 ? null : new Block(null, at.reinterpret(capacity), capacity);
    }

    void release(CpuBuffer b) {
        Block block = b.block();
        boolean over;
        synchronized (this) {
            live -= block.capacity();
            freeList(block.capacity()).addFirst(block);
            cached += block.capacity();
            over = cached > MAX_CACHED_BYTES;
        }
        if (over) trim();
    }

    synchronized long liveBytes() { return live; }

    synchronized long peakBytes() { return peak; }

    synchronized long cachedBytes() { return cached; }

    /** Frees every cached block. */
    void trim() {
        java.util.List<Block> toFree = new java.util.ArrayList<>();
        synchronized (this) {
            for (ArrayDeque<Block> list : small) {
                toFree.addAll(list);
                list.clear();
            }
            for (ArrayDeque<Block> list : large.values()) toFree.addAll(list);
            large.clear();
            cached = 0;
        }
        for (Block b : toFree) b.free();
    }
}
