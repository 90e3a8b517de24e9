package dev.kiln.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaDriverTest {
    @Test
    void versionsReadAsCudaReleases() {
        assertEquals("13.0", CudaDriver.versionText(13000));
        assertEquals("12.4", CudaDriver.versionText(12040));
    }

    @Test
    void aCubinNeedsTheNvrtcsMajorVersionAndPtxItsMinorToo() {
        assertNull(CudaDriver.tooOldFor(13000, 13, 1, true, "libnvrtc.so.13"));
        assertNull(CudaDriver.tooOldFor(13010, 13, 1, false, "libnvrtc.so.13"));
        String ptx = CudaDriver.tooOldFor(13000, 13, 1, false, "libnvrtc.so.13");
        assertTrue(ptx.startsWith("driver too old: it supports CUDA 13.0, the kernels are compiled by NVRTC 13.1 (libnvrtc.so.13) for CUDA 13.1"), ptx);
        String cubin = CudaDriver.tooOldFor(12080, 13, 0, true, "libnvrtc.so.13");
        assertTrue(cubin.contains("supports CUDA 12.8") && cubin.contains("put an NVRTC 12 in -Dkiln.cuda.libraryPath"), cubin);
    }
}
