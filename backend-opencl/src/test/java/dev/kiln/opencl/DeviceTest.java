package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.backend.Backend;
import dev.kiln.backend.BackendProvider;
import dev.kiln.backend.Buffer;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.MemoryStats;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import dev.kiln.kernel.KernelSources;
import org.jocl.CL;
import org.jocl.cl_context;
import org.jocl.cl_mem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.kiln.opencl.Devices.backendOrSkip;
import static org.junit.jupiter.api.Assertions.*;

/** The probe, the caching allocator on OpenCL, the kernel compiler and closing. */
class DeviceTest {
    /** Slot T bound as KernelBackend binds it for float32 kernels and for 32-bit raw moves. */
    private static final String FLOAT32_SLOT = " -DT=float -DT_KIND=1 -DTN=float32", INT32_BITS_SLOT = " -DT=uint -DT_KIND=2 -DTN=bits32";

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
        KernelBackend<cl_mem> be = backendOrSkip();
        be.emptyCache();
        MemoryStats before = be.memoryStats();
        Buffer a = be.allocate(1000);
        cl_mem memoryOfA = be.memory(a);
        assertEquals(before.liveBytes() + 1024, be.memoryStats().liveBytes());
        be.release(a);
        assertEquals(before.liveBytes(), be.memoryStats().liveBytes());
        assertEquals(1024, be.memoryStats().cachedBytes());
        Buffer b = be.allocate(900);
        assertSame(memoryOfA, be.memory(b), "same size class reuses the cached buffer");
        assertEquals(0, be.memoryStats().cachedBytes());
        be.release(b);
        assertThrows(IllegalStateException.class, () -> be.release(b));
        be.emptyCache();
        assertEquals(0, be.memoryStats().cachedBytes());
    }

    @Test
    void anAllocationLargerThanTheDeviceAllowsFailsClearly() {
        KernelBackend<cl_mem> be = backendOrSkip();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> be.allocate(Long.MAX_VALUE / 4));
        assertTrue(e.getMessage().contains("cannot allocate"), e.getMessage());
    }

    @Test
    void aKernelThatDoesNotBuildReportsItsBuildLog(@TempDir Path cache) throws Exception {
        KernelBackend<cl_mem> be = backendOrSkip();
        String old = System.getProperty("kiln.opencl.cache");
        System.setProperty("kiln.opencl.cache", cache.toString());
        try {
            ClDevice dev = ClDevice.discover().get(be.device().index());
            cl_context context = Devices.runtime(be).context();
            KernelCompiler compiler = new KernelCompiler(dev, context);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> compiler.build("gemm", KernelSources.unit("gemm"), FLOAT32_SLOT + " -DTILE_M=not_a_number"));
            assertTrue(e.getMessage().contains("Build log") && e.getMessage().contains("not_a_number"), e.getMessage());
            CL.clReleaseProgram(compiler.build("copy", KernelSources.unit("copy"), INT32_BITS_SLOT));
            try (var files = Files.list(cache)) {
                assertEquals(1, files.filter(f -> f.toString().endsWith(".bin")).count(), "the built program is cached on disk");
            }
            // A second compiler loads the cached binary.
            CL.clReleaseProgram(new KernelCompiler(dev, context).build("copy", KernelSources.unit("copy"), INT32_BITS_SLOT));
        } finally {
            if (old == null) System.clearProperty("kiln.opencl.cache");
            else System.setProperty("kiln.opencl.cache", old);
        }
    }

    @Test
    void aClosedBackendFailsNamingItsDeviceAndClosesOnce() {
        KernelBackend<cl_mem> shared = backendOrSkip();
        ClDevice d = ClDevice.discover().get(shared.device().index());
        KernelBackend<cl_mem> be = new KernelBackend<>(new OpenClRuntime(d));
        View v = be.allocateView(DType.FLOAT32, 4);
        be.fill(v, 1);
        be.close();
        be.close();
        for (Runnable use : List.<Runnable>of(() -> be.allocate(16), () -> be.fill(v, 2), be::synchronize,
                () -> be.copyToHost(v.buffer(), 0, MemorySegment.ofArray(new byte[16])))) {
            IllegalStateException e = assertThrows(IllegalStateException.class, use::run);
            assertTrue(e.getMessage().contains(be.device().toString()) && e.getMessage().contains("closed"), e.getMessage());
        }
        be.release(v.buffer());  // the memory went with the context: nothing to do, nothing to throw
    }

    @Test
    void transfersUseHeapArraysOfEveryKindInPlaceAtTheirOffsets() {
        KernelBackend<cl_mem> be = backendOrSkip();
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
