package dev.kiln.nn.models;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.Sequential;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The digit classifiers: shapes and sizes. */
class MnistNetsTest {

    @Test
    void lenet5HasTheClassicLayoutOn28x28Digits() {
        try (Scope s = Scope.open(); Sequential net = MnistNets.lenet5()) {
            // conv 1->6 (156), conv 6->16 (2,416), 400->120 (48,120), 120->84 (10,164), 84->10 (850).
            assertEquals(61_706, net.parameterCount());
            assertArrayEquals(new int[] {2, 10}, net.forward(Tensor.randn(2, 1, 28, 28)).shape());
        }
    }

    @Test
    void resnetHalvesTheResolutionTwiceAndClassifies() {
        try (Scope s = Scope.open(); Sequential net = MnistNets.resnet()) {
            // stem 144 + 32 (norm); block 16->32: 4,608 + 9,216 + 512 (shortcut) + 3 norms of 64; block 32->64:
            // 18,432 + 36,864 + 2,048 + 3 norms of 128; classifier 650.
            assertEquals(73_082, net.parameterCount());
            assertArrayEquals(new int[] {3, 10}, net.forward(Tensor.randn(3, 1, 28, 28)).shape());
        }
    }
}
