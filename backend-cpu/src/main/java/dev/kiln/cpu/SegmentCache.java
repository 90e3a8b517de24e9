package dev.kiln.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

/**
 * A caching allocator for host memory. Creating and closing a shared arena costs microseconds (closing must
 * reach every thread), so released blocks go back to a free list per power-of-two size class and are reused;
 * {@link #trim} hands the cache back to the system, and an allocation that fails trims and retries once.
 * Blocks are 64-byte aligned: a cache line and an AVX-512 vector.
 *
 * <p>The byte counters live under the same lock as the free lists: allocating and releasing then take one
 * uncontended lock each, where separate atomics cost two or three more atomic updates per small op.
 */
final class SegmentCache {
    private static final int CLASSES = 63;
    private static final long MAX_CACHED_BYTES = 2L << 30;

    record Block(Arena arena, MemorySegment segment, int sizeClass) {}

    private final ArrayDeque<Block>[] free;
    private long live;
    private long peak;
    private long cached;

    @SuppressWarnings("unchecked")
    SegmentCache() {
        free = new ArrayDeque[CLASSES];
        for (int i = 0; i < CLASSES; i++) free[i] = new ArrayDeque<>();
    }

    static int sizeClass(long bytes) {
        return Math.max(6, 64 - Long.numberOfLeadingZeros(Math.max(1, bytes) - 1));
    }

    CpuBuffer allocate(long bytes) {
        int c = sizeClass(bytes);
        long capacity = 1L << c;
        Block block;
        synchronized (this) {
            block = free[c].pollFirst();
            if (block != null) {
                cached -= capacity;
                countLive(capacity);
            }
        }
        if (block == null) {
            block = fresh(c, bytes);
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

    private Block fresh(int c, long requested) {
        for (int attempt = 0; ; attempt++) {
            Arena arena = Arena.ofShared();
            try {
                return new Block(arena, arena.allocate(1L << c, 64), c);
            } catch (OutOfMemoryError e) {
                arena.close();
                if (attempt > 0)
                    throw new IllegalStateException("cpu: out of memory allocating " + requested + " bytes (" + liveBytes() + " bytes live)", e);
                trim();
            }
        }
    }

    void release(CpuBuffer b) {
        Block block = b.block();
        long capacity = 1L << block.sizeClass();
        boolean over;
        synchronized (this) {
            live -= capacity;
            free[block.sizeClass()].addFirst(block);
            cached += capacity;
            over = cached > MAX_CACHED_BYTES;
        }
        if (over) trim();
    }

    synchronized long liveBytes() { return live; }

    synchronized long peakBytes() { return peak; }

    synchronized long cachedBytes() { return cached; }

    /** Frees every cached block. */
    void trim() {
        java.util.List<Block> toClose = new java.util.ArrayList<>();
        synchronized (this) {
            for (ArrayDeque<Block> list : free) {
                toClose.addAll(list);
                list.clear();
            }
            cached = 0;
        }
        for (Block b : toClose) b.arena().close();
    }
}
