package dev.kiln.testkit.reliability;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.testkit.BackendTest;
import dev.kiln.testkit.TestDevice;

import static dev.kiln.testkit.reliability.Refusal.assertRefused;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A tensor saved for backward and then written in place makes backward refuse, naming the op and the tensor,
 * instead of returning a gradient computed from the new values (issue 14, finding 4). The version counter lives
 * on the storage, so writes through views, detach() aliases and updates under noGrad all count.
 */
class VersionCounterTest {
    private static final String MODIFIED = "modified by an inplace operation";

    @BackendTest
    void everyInPlaceOpMovesTheVersionOfEveryViewOfTheStorage(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(4);
            Tensor view = x.narrow(0, 1, 2), alias = x.detach();
            int v = x.version();
            x.add_(1);
            view.mul_(Tensor.ones(2));
            alias.copy_(Tensor.ones(4));
            alias.fill_(2);
            x.clamp_(0, 1);
            x.zero_();
            assertEquals(v + 7, x.version(), "add_, mul_, copy_, fill_, clamp_ (two bounds), zero_");
            assertEquals(x.version(), view.version());
            assertEquals(x.version(), alias.version());
            Tensor y = x.add(1);
            assertEquals(0, y.version(), "an out-of-place result starts at version 0");
        }
    }

    @BackendTest
    void anInputSavedForBackwardAndChangedInPlaceIsRefused(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.of(new float[] {1, 1}).requiresGrad(true);
            Tensor x = Tensor.of(new float[] {2, 3});
            Tensor y = w.mul(x).sum();
            x.mul_(10);
            assertRefused(IllegalStateException.class, y::backward, "mul", MODIFIED, "input 1", "[2]", "version 1", "expected version 0");
            assertEquals(null, w.grad(), "no gradient was accumulated");
        }
    }

    @BackendTest
    void anUpdateUnderNoGradBetweenForwardAndBackwardIsRefused(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.of(new float[] {1, 2}).requiresGrad(true);
            Tensor x = Tensor.of(new float[] {2, 3}).requiresGrad(true);
            Tensor y = w.mul(x).sum();
            try (GradMode ng = GradMode.noGrad()) {
                w.sub_(Tensor.of(new float[] {0.5f, 0.5f})); // what an optimizer step does
            }
            assertRefused(IllegalStateException.class, y::backward, "mul", MODIFIED, "input 0");
        }
    }

    @BackendTest
    void aWriteThroughADetachedAliasOfASavedOutputIsRefused(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new float[] {0.5f, 1}).requiresGrad(true);
            Tensor e = x.exp(); // exp saves its output
            Tensor loss = e.sum();
            e.detach().fill_(0);
            assertRefused(IllegalStateException.class, loss::backward, MODIFIED, "exp");
        }
    }

    @BackendTest
    void writesAfterBackwardOrToUnsavedTensorsAreFine(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.of(new float[] {1, 1}).requiresGrad(true);
            Tensor x = Tensor.of(new float[] {2, 3});
            Tensor other = Tensor.zeros(2);
            Tensor y = w.mul(x).sum();
            other.add_(5);
            y.backward();
            assertArrayEquals(new float[] {2, 3}, w.grad().toFloatArray());
            x.mul_(10);
            try (GradMode ng = GradMode.noGrad()) {
                w.sub_(w.grad());
            }
            Tensor y2 = w.mul(x).sum();
            w.grad().zero_();
            y2.backward();
            assertArrayEquals(new float[] {20, 30}, w.grad().toFloatArray(), "a new graph sees the new values");
        }
    }
}
