package dev.kiln.backend;

import dev.kiln.Device;
import dev.kiln.Tensor;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * runtime-api's own tests run with no backend module on the class path, as a user who forgot one would. (The
 * backend modules' test runs, which scan runtime-api's test classes for the kit, report it skipped.)
 */
class NoBackendTest {
    @BeforeEach
    void noBackendOnTheClassPath() {
        assumeTrue(ServiceLoader.load(BackendProvider.class).findFirst().isEmpty(), "a backend is on the class path");
    }

    @Test
    void creatingATensorNamesTheMissingArtifact() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.zeros(2));
        assertEquals("no Kiln backend is available: add dev.kiln:kiln-backend-cpu (or -opencl / -cuda) to your dependencies", e.getMessage());
    }

    @Test
    void requestingADeviceNamesTheMissingArtifact() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DeviceProbe.backend(Device.parse("cpu")));
        assertTrue(e.getMessage().startsWith("device 'cpu' was requested but is not available. no Kiln backend is available: add dev.kiln:kiln-backend-cpu"),
                e.getMessage());
    }
}
