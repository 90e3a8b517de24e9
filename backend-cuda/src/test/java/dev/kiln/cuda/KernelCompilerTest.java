package dev.kiln.cuda;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class KernelCompilerTest {
    private static final int[] NVRTC_13_ARCHS = {75, 80, 86, 87, 88, 89, 90, 100, 103, 110, 120, 121};

    @Test
    void aKnownArchitectureGetsACubin() {
        assertEquals(new KernelCompiler.Target(90, true), KernelCompiler.target(90, NVRTC_13_ARCHS));
        assertEquals("--gpu-architecture=sm_90", KernelCompiler.target(90, NVRTC_13_ARCHS).option());
        assertEquals(new KernelCompiler.Target(80, true), KernelCompiler.target(80, NVRTC_13_ARCHS));
    }

    @Test
    void aDeviceNewerThanNvrtcGetsPtxOfTheNewestArchitectureBelowIt() {
        KernelCompiler.Target t = KernelCompiler.target(130, NVRTC_13_ARCHS);
        assertEquals(new KernelCompiler.Target(121, false), t);
        assertEquals("--gpu-architecture=compute_121", t.option());
        // sm_91 is unknown: PTX for compute_90, which the driver compiles for it.
        assertEquals(new KernelCompiler.Target(90, false), KernelCompiler.target(91, NVRTC_13_ARCHS));
    }

    @Test
    void aDeviceOlderThanEveryArchitectureHasNoTarget() {
        assertNull(KernelCompiler.target(70, NVRTC_13_ARCHS));
    }

    @Test
    void optionsAreTheTargetFloat64AndTheBackendsDefines() {
        assertEquals(List.of("--gpu-architecture=sm_86", "--std=c++17", "-DKILN_FP64", "-DT=float", "-DTN=float32", "-DDENSE"),
                KernelCompiler.options(new KernelCompiler.Target(86, true), " -DT=float  -DTN=float32\t-DDENSE "));
        assertEquals(List.of("--gpu-architecture=compute_90", "--std=c++17", "-DKILN_FP64"),
                KernelCompiler.options(new KernelCompiler.Target(90, false), ""));
    }
}
