package dev.kiln.cuda;

import dev.kiln.Device;
import dev.kiln.backend.BackendProvider;
import dev.kiln.backend.DeviceProbe;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The probe on whatever machine runs the tests: without an NVIDIA driver CUDA is reported unavailable with that
 * reason and asking for it is an error that says so; with one, every device is either offered (with its description)
 * or rejected with a reason.
 */
class CudaProviderTest {
    private static boolean driverPresent() {
        return LibraryLocator.system().find("the NVIDIA driver", List.of("libcuda.so.1"), false).found();
    }

    @Test
    void probeReportsEveryDeviceOrWhyThereIsNone() {
        List<BackendProvider.Candidate> found = new CudaProvider().probe();
        assertFalse(found.isEmpty());
        if (!driverPresent()) {
            assertEquals(1, found.size());
            BackendProvider.Candidate c = found.getFirst();
            assertEquals("cuda", c.device());
            assertFalse(c.isAvailable());
            assertTrue(c.unavailableReason().startsWith("no NVIDIA driver (libcuda.so.1 not found"), c.unavailableReason());
            return;
        }
        for (BackendProvider.Candidate c : found) {
            assertTrue(c.device().startsWith("cuda"), c.device());
            if (c.isAvailable()) {
                assertEquals(CudaProvider.PRIORITY, c.priority());
                assertTrue(c.description().contains("compute capability") && c.description().contains("kernels: NVRTC"), c.description());
            } else {
                assertFalse(c.unavailableReason().isBlank());
            }
        }
    }

    @Test
    void askingForCudaWithoutOneIsAnErrorThatSaysWhy() {
        boolean available = DeviceProbe.candidates().stream().anyMatch(c -> c.isAvailable() && c.device().startsWith("cuda"));
        Assumptions.assumeFalse(available, "a CUDA device is available here");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceProbe.backend(Device.parse("cuda")));
        String reason = DeviceProbe.candidates().stream().filter(c -> c.device().startsWith("cuda")).findFirst().orElseThrow().unavailableReason();
        assertTrue(e.getMessage().contains("device 'cuda' was requested but is not available") && e.getMessage().contains(reason), e.getMessage());
    }
}
