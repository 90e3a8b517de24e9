package dev.kiln.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LaunchGeometryTest {
    @Test
    void runtimeChosenBlocksDivideTheWorkExactly() {
        assertArrayEquals(new long[] {256}, LaunchGeometry.defaultBlock(new long[] {1 << 20}, 1024));
        assertArrayEquals(new long[] {250}, LaunchGeometry.defaultBlock(new long[] {1000}, 1024));
        assertArrayEquals(new long[] {7}, LaunchGeometry.defaultBlock(new long[] {7}, 1024));
        assertArrayEquals(new long[] {1, 1}, LaunchGeometry.defaultBlock(new long[] {257, 3}, 1024));
        assertArrayEquals(new long[] {128, 1, 1}, LaunchGeometry.defaultBlock(new long[] {512, 4, 2}, 128));
    }

    @Test
    void gridCountsBlocksInThreeDimensions() {
        assertArrayEquals(new long[] {4, 1, 1}, LaunchGeometry.grid("k", new long[] {1024}, new long[] {256}, 1024));
        assertArrayEquals(new long[] {3, 2, 5}, LaunchGeometry.grid("k", new long[] {48, 32, 5}, new long[] {16, 16, 1}, 1024));
        assertArrayEquals(new long[] {16, 16, 1}, LaunchGeometry.block3(new long[] {16, 16}));
    }

    @Test
    void launchesBeyondCudaLimitsAreRefusedNamingTheKernel() {
        IllegalArgumentException notMultiple = assertThrows(IllegalArgumentException.class,
                () -> LaunchGeometry.grid("gemm_float32", new long[] {100}, new long[] {64}, 1024));
        assertTrue(notMultiple.getMessage().contains("gemm_float32") && notMultiple.getMessage().contains("not a multiple"), notMultiple.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.grid("k", new long[] {2048}, new long[] {2048}, 1024));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.grid("k", new long[] {1, 70000}, new long[] {1, 1}, 1024));
        assertThrows(IllegalArgumentException.class, () -> LaunchGeometry.grid("k", new long[] {1, 1, 1, 1}, new long[] {1, 1, 1, 1}, 1024));
    }
}
