package dev.kiln.kernel;

import dev.kiln.Device;
import dev.kiln.backend.MemoryStats;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** The caching allocator over a runtime whose allocations are numbers and whose device holds 4 KiB. */
class MemoryPoolTest {

    /** Raw allocations are serial numbers; only memory and identity matter to the pool. */
    private static final class CountingRuntime implements KernelRuntime<Long> {
        final Set<Long> live = new HashSet<>();
        private long next;

        @Override
        public DeviceInfo device() {
            return new DeviceInfo(new Device("test", 0), "test device", "a test device", true, true, "nothing", 256, 4096, 4096);
        }

        @Override
        public Long allocate(long bytes) {
            Long m = next++;
            live.add(m);
            return m;
        }

        @Override public void free(Long memory) { assertTrue(live.remove(memory), "freed once"); }

        @Override public void copyFromHost(MemorySegment src, Long dst, long dstByteOffset) { throw new UnsupportedOperationException(); }

        @Override public void copyToHost(Long src, long srcByteOffset, MemorySegment dst) { throw new UnsupportedOperationException(); }

        @Override public void copy(Long src, long srcByteOffset, Long dst, long dstByteOffset, long bytes) { throw new UnsupportedOperationException(); }

        @Override public Program<Long> compile(String family, String source, String defines) { throw new UnsupportedOperationException(); }

        @Override public void synchronize() {}

        @Override public boolean debugging() { return false; }

        @Override public void close() {}
    }

    @Test
    void sizeClassesWasteAtMostAQuarterAboveOneMebibyte() {
        assertEquals(256, MemoryPool.sizeClass(0));
        assertEquals(512, MemoryPool.sizeClass(257));
        assertEquals(1 << 20, MemoryPool.sizeClass(1 << 20));
        assertEquals((1 << 21) + (1 << 19), MemoryPool.sizeClass((1 << 21) + 1));
        for (long n = 1; n < 1L << 34; n = n * 3 + 1) assertTrue(MemoryPool.sizeClass(n) >= n && MemoryPool.sizeClass(n) <= Math.max(256, n * 2));
    }

    @Test
    void releasedBuffersOfOneClassAreReused() {
        CountingRuntime rt = new CountingRuntime();
        MemoryPool<Long> pool = new MemoryPool<>(rt);
        DeviceBuffer<Long> a = pool.allocate(1000);
        pool.release(a);
        DeviceBuffer<Long> b = pool.allocate(900);
        assertSame(a.memory, b.memory);
        assertEquals(1, rt.live.size());
        assertThrows(IllegalStateException.class, () -> pool.release(a), "released twice");
    }

    @Test
    void aFullDeviceFreesTheCacheBeforeFailingClearly() {
        CountingRuntime rt = new CountingRuntime();
        MemoryPool<Long> pool = new MemoryPool<>(rt);
        DeviceBuffer<Long> small = pool.allocate(2048);
        pool.release(small);
        assertEquals(2048, pool.stats().cachedBytes());
        DeviceBuffer<Long> whole = pool.allocate(4096);
        assertEquals(0, pool.stats().cachedBytes(), "the cache was freed to make room");
        assertEquals(4096, pool.stats().liveBytes());
        assertEquals(Set.of(whole.memory), rt.live);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.allocate(256));
        assertTrue(e.getMessage().contains("out of memory") && e.getMessage().contains("test device"), e.getMessage());
        assertEquals(Set.of(whole.memory), rt.live, "the failed attempt's allocation was given back");
        pool.release(whole);
        pool.emptyCache();
        assertEquals(new MemoryStats(0, 0, 4096), pool.stats());
        assertTrue(rt.live.isEmpty());
    }
}
