package dev.kiln.cpu;

import dev.kiln.backend.OutOfDeviceMemoryException;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Size classes for small blocks, exact (page-rounded) blocks for large ones, and refusals (issue 14, findings 1, 10, 11). */
class SegmentCacheTest {

    @Test
    void smallRequestsRoundToPowersOfTwoAndLargeOnesToPages() {
        assertEquals(64, SegmentCache.capacity(1));
        assertEquals(1024, SegmentCache.capacity(1000));
        assertEquals(1 << 20, SegmentCache.capacity(1 << 20));
        long large = (1028L << 20) + 1; // a 1028 MiB tensor once took 2 GiB
        assertEquals((1028L << 20) + 4096, SegmentCache.capacity(large));
        assertEquals(3L << 30, SegmentCache.capacity(3L << 30));
    }

    @Test
    void aLargeBlockCostsItsSizeIsWritableAndIsReusedBySize() {
        SegmentCache cache = new SegmentCache();
        long bytes = (40L << 20) + 12;
        CpuBuffer b = cache.allocate(bytes);
        assertEquals(SegmentCache.capacity(bytes), cache.liveBytes(), "live bytes are the page-rounded request, not 64 MiB");
        assertTrue(b.segment().byteSize() >= bytes);
        assertEquals(0, b.segment().address() % 64, "64-byte aligned");
        b.segment().set(ValueLayout.JAVA_FLOAT, bytes - 12, 7f);
        assertEquals(7f, b.segment().get(ValueLayout.JAVA_FLOAT, bytes - 12));
        cache.release(b);
        assertEquals(0, cache.liveBytes());
        CpuBuffer again = cache.allocate(bytes);
        assertSame(b.block(), again.block(), "the same size is served from the cache");
        cache.release(again);
        cache.trim();
        assertEquals(0, cache.cachedBytes());
    }

    @Test
    void impossibleSizesAreRefusedAsOutOfMemory() {
        SegmentCache cache = new SegmentCache();
        assertThrows(OutOfDeviceMemoryException.class, () -> cache.allocate(Long.MAX_VALUE));
        assertThrows(OutOfDeviceMemoryException.class, () -> cache.allocate(-1));
        OutOfDeviceMemoryException e = assertThrows(OutOfDeviceMemoryException.class, () -> cache.allocate(1L << 50));
        assertTrue(e.getMessage().contains("cpu: out of memory allocating " + (1L << 50)), e.getMessage());
        assertEquals(0, cache.liveBytes());
    }
}
