package dev.kiln.testkit.reliability;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.testkit.BackendTest;
import dev.kiln.testkit.TestDevice;

import static dev.kiln.testkit.reliability.Refusal.assertRefused;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * An in-place op whose source partly overlaps its destination in memory is refused on every backend (their
 * answers differed: they visit elements in different orders); the exact same view, and views of one storage that
 * share no element, are fine (issue 14, finding 7).
 */
class InPlaceOverlapTest {
    private static final String OVERLAP = "partly overlaps the destination";

    @BackendTest
    void partlyOverlappingSourcesAreRefused(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 0, 0, 0, 0});
            assertRefused(IllegalArgumentException.class, () -> x.narrow(0, 1, 4).add_(x.narrow(0, 0, 4)), "add_", OVERLAP);
            assertRefused(IllegalArgumentException.class, () -> x.narrow(0, 1, 4).copy_(x.narrow(0, 0, 4)), "copy_", OVERLAP);
            assertRefused(IllegalArgumentException.class, () -> x.narrow(0, 0, 4).mul_(x.narrow(0, 1, 4)), "mul_", OVERLAP);
            assertRefused(IllegalArgumentException.class, () -> x.add_(x.narrow(0, 0, 1)), "add_", OVERLAP);
            Tensor m = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2);
            assertRefused(IllegalArgumentException.class, () -> m.copy_(m.t()), "copy_", OVERLAP);
            assertArrayEquals(new float[] {1, 0, 0, 0, 0}, x.toFloatArray(), "refused before writing anything");
        }
    }

    @BackendTest
    void theSameViewAndDisjointViewsAreAllowed(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6});
            x.add_(x);
            assertArrayEquals(new float[] {2, 4, 6, 8, 10, 12}, x.toFloatArray());
            x.narrow(0, 3, 3).copy_(x.narrow(0, 0, 3));
            assertArrayEquals(new float[] {2, 4, 6, 2, 4, 6}, x.toFloatArray());
            Tensor evens = x.slice(0, 0, 6, 2), odds = x.slice(0, 1, 6, 2); // interleaved, no element in common
            evens.add_(odds);
            assertArrayEquals(new float[] {6, 4, 8, 2, 10, 6}, x.toFloatArray());
        }
    }
}
