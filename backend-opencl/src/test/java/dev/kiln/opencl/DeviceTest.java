package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.backend.Backend;
import dev.kiln.backend.BackendProvider;
import dev.kiln.backend.Buffer;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.MemoryStats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.kiln.opencl.Devices.backendOrSkip;
import static org.junit.jupiter.api.Assertions.*;

/** The probe, the caching allocator and the kernel compiler. */
class DeviceTest {

    @Test
    void probeNeverThrowsAndNamesDevicesOpenclN() {
        List<BackendProvider.Candidate> found = new OpenClProvider().probe();
        assertFalse(found.isEmpty());
        for (BackendProvider.Candidate c : found) {
            assertTrue(c.device().startsWith("opencl"), c.device());
            if (c.isAvailable()) assertTrue(c.priority() == OpenClProvider.GPU_PRIORITY || c.priority() == OpenClProvider.CPU_DEVICE_PRIORITY);
            else assertFalse(c.unavailableReason().isBlank());
        }
    }

    @Test
    void deviceProbeOpensTheBackendByName() {
        backendOrSkip();
        Backend be = DeviceProbe.backend(Device.parse("opencl"));
        assertEquals("opencl", be.device().type());
        assertTrue(be.description().startsWith("OpenCL"), be.description());
    }

    @Test
    void releasedBuffersAreReusedAndCounted() {
        OpenClBackend be = backendOrSkip();
        be.emptyCache();
        MemoryStats before = be.memoryStats();
        Buffer a = be.allocate(1000);
        assertEquals(before.liveBytes() + 1024, be.memoryStats().liveBytes());
        be.release(a);
        assertEquals(before.liveBytes(), be.memoryStats().liveBytes());
        assertEquals(1024, be.memoryStats().cachedBytes());
        Buffer b = be.allocate(900);
        assertSame(((ClBuffer) a).mem, ((ClBuffer) b).mem, "same size class reuses the cached buffer");
        assertEquals(0, be.memoryStats().cachedBytes());
        be.release(b);
        assertThrows(IllegalStateException.class, () -> be.release(b));
        be.emptyCache();
        assertEquals(0, be.memoryStats().cachedBytes());
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
    void aFullDeviceFreesTheCacheBeforeFailingClearly() {
        OpenClBackend be = backendOrSkip();
        // A pool that believes the device holds 4 KiB.
        MemoryPool pool = new MemoryPool(be.context(), "test device", 4096, 4096);
        ClBuffer small = pool.allocate(2048);
        pool.release(small);
        assertEquals(2048, pool.stats().cachedBytes());
        ClBuffer whole = pool.allocate(4096);
        assertEquals(0, pool.stats().cachedBytes(), "the cache was freed to make room");
        assertEquals(4096, pool.stats().liveBytes());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.allocate(256));
        assertTrue(e.getMessage().contains("out of memory") && e.getMessage().contains("test device"), e.getMessage());
        pool.release(whole);
        pool.emptyCache();
        assertEquals(new MemoryStats(0, 0, 4096), pool.stats());
    }

    @Test
    void anAllocationLargerThanTheDeviceAllowsFailsClearly() {
        OpenClBackend be = backendOrSkip();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> be.allocate(Long.MAX_VALUE / 4));
        assertTrue(e.getMessage().contains("cannot allocate"), e.getMessage());
    }

    @Test
    void aKernelThatDoesNotBuildReportsItsBuildLog(@TempDir Path cache) throws Exception {
        OpenClBackend be = backendOrSkip();
        String old = System.getProperty("kiln.opencl.cache");
        System.setProperty("kiln.opencl.cache", cache.toString());
        try {
            ClDevice dev = ClDevice.discover().get(be.device().index());
            KernelCompiler compiler = new KernelCompiler(dev, be.context());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> compiler.kernel("gemm", ClTypes.defines("T", DType.FLOAT32) + " -DTILE_M=not_a_number", "gemm_float32"));
            assertTrue(e.getMessage().contains("Build log") && e.getMessage().contains("not_a_number"), e.getMessage());
            compiler.kernel("copy", ClTypes.bitsDefines(DType.INT32), "fill_bits32");
            try (var files = Files.list(cache)) {
                assertEquals(1, files.filter(f -> f.toString().endsWith(".bin")).count(), "the built program is cached on disk");
            }
            // A second compiler loads the cached binary.
            new KernelCompiler(dev, be.context()).kernel("copy", ClTypes.bitsDefines(DType.INT32), "fill_bits32");
        } finally {
            if (old == null) System.clearProperty("kiln.opencl.cache");
            else System.setProperty("kiln.opencl.cache", old);
        }
    }

    @Test
    void transfersUseHeapArraysOfEveryKindInPlaceAtTheirOffsets() {
        OpenClBackend be = backendOrSkip();
        Buffer b = be.allocate(16);
        float[] floats = {9, 1.5f, -2, 3.25f, 4, 9};
        be.copyFromHost(MemorySegment.ofArray(floats).asSlice(4, 16), b, 0);
        long[] longs = new long[3];
        be.copyToHost(b, 0, MemorySegment.ofArray(longs).asSlice(8, 16));
        assertEquals(0, longs[0]);
        assertEquals(Float.floatToIntBits(1.5f) | (long) Float.floatToIntBits(-2) << 32, longs[1]);
        double[] doubles = new double[2];
        be.copyToHost(b, 8, MemorySegment.ofArray(doubles).asSlice(0, 8));
        assertEquals(Double.longBitsToDouble(Float.floatToIntBits(3.25f) & 0xFFFFFFFFL | (long) Float.floatToIntBits(4) << 32), doubles[0]);
        byte[] readOnlySource = {1, 2, 3, 4};
        be.copyFromHost(MemorySegment.ofArray(readOnlySource).asReadOnly(), b, 12);
        int[] last = new int[1];
        be.copyToHost(b, 12, MemorySegment.ofArray(last));
        assertEquals(0x04030201, last[0]);
        be.release(b);
    }
}
