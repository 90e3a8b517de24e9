package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.backend.Backend;
import dev.kiln.backend.MemoryStats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Deterministic release: a training loop inside per-step scopes leaves the device's live bytes flat. */
class MemoryConformanceTest {

    @BackendTest
    void tenThousandTrainingStepsLeakNothing(TestDevice device) {
        Backend be = device.activate();
        try (Scope run = Scope.open()) {
            train(be);
        }
    }

    private static void train(Backend be) {
        Tensor w1 = Tensor.randn(DType.FLOAT32, null, 8, 16).mul_(0.3).requiresGrad(true);
        Tensor b1 = Tensor.zeros(16).requiresGrad(true);
        Tensor w2 = Tensor.randn(DType.FLOAT32, null, 16, 1).mul_(0.3).requiresGrad(true);
        Tensor x = Tensor.randn(DType.FLOAT32, null, 32, 8);
        Tensor y = x.sum(new int[] {1}, true).sin();
        Tensor[] params = {w1, b1, w2};
        long before = 0;
        double firstLoss = 0, lastLoss = 0;
        for (int step = 0; step < 10_000; step++) {
            try (Scope s = Scope.open()) {
                Tensor h = x.matmul(w1).add(b1).tanh();
                Tensor loss = h.matmul(w2).sub(y).square().mean();
                loss.backward();
                try (GradMode ignored = GradMode.noGrad()) {
                    for (Tensor p : params) {
                        p.add_(p.grad(), -0.05);
                        p.grad().zero_();
                    }
                }
                if (step == 0) firstLoss = loss.item();
                if (step == 9_999) lastLoss = loss.item();
            }
            if (step == 100) before = Ref.settledLiveBytes(be);
        }
        long after = Ref.settledLiveBytes(be);
        // Not above: tensors that earlier tests still held may be collected meanwhile, so it may fall.
        assertTrue(after <= before, "live bytes grew from " + before + " after 100 steps to " + after + " after 10,000 steps");
        assertTrue(lastLoss < firstLoss * 0.5, "the loop trains: loss " + firstLoss + " -> " + lastLoss);
    }

    @BackendTest
    void closingReturnsEveryByte(TestDevice device) {
        Backend be = device.activate();
        long start = Ref.settledLiveBytes(be);
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.randn(64, 64).requiresGrad(true);
            Tensor loss = Functional.linear(a, a, null).relu().sum();
            loss.backward();
            assertTrue(be.memoryStats().liveBytes() > start);
            a.close();
        }
        long end = Ref.settledLiveBytes(be);
        assertTrue(end <= start, "everything created in the scope was released: live bytes " + start + " before, " + end + " after");
    }

    @BackendTest
    void kilnReportsTheBackendsMemoryStats(TestDevice device) {
        Backend be = device.activate();
        try (Scope s = Scope.open()) {
            Tensor held = Tensor.zeros(1 << 16);
            MemoryStats stats = Kiln.memoryStats(device.device());
            assertTrue(stats.liveBytes() >= held.numel() * 4, "live bytes count the tensor: " + stats);
            assertTrue(stats.peakLiveBytes() >= stats.liveBytes() && stats.cachedBytes() >= 0, stats.toString());
            assertEquals(be.memoryStats().liveBytes(), Kiln.memoryStats(null).liveBytes(), "null is the default device");
        }
    }
}
