package dev.kiln;

import dev.kiln.backend.Backend;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The switch refuses what a backend reports as non-deterministic, and only while it is on. */
class DeterministicAlgorithmsTest {

    /** A backend that answers only device() and isDeterministic(): false for scatterAdd. */
    private static Backend atomicScatterBackend() {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, method, args) ->
                switch (method.getName()) {
                    case "device" -> Device.parse("cuda:0");
                    case "isDeterministic" -> !"scatterAdd".equals(args[0]);
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    @Test
    void refusesNonDeterministicEntryPointsOnlyWhenAsked() {
        Backend be = atomicScatterBackend();
        try {
            Kiln.useDeterministicAlgorithms(false);
            assertDoesNotThrow(() -> Determinism.check("scatter_add", be, "scatterAdd"));
            Kiln.useDeterministicAlgorithms(true);
            assertTrue(Kiln.areDeterministicAlgorithmsEnabled());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Determinism.check("scatter_add", be, "scatterAdd"));
            assertTrue(e.getMessage().contains("scatter_add") && e.getMessage().contains("cuda:0") && e.getMessage().contains("useDeterministicAlgorithms"),
                    e.getMessage());
            assertDoesNotThrow(() -> Determinism.check("index_select backward", be, "indexAdd"));
        } finally {
            Kiln.useDeterministicAlgorithms(false);
        }
    }
}
