package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.backend.Backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The network ops together: a small convolutional classifier trains, and every step's memory is released. */
class ConvNetConformanceTest {
    private static final int N = 16, SIDE = 8;

    @BackendTest
    void smallConvNetTrainsAndLeaksNothing(TestDevice device) {
        Backend be = device.activate();
        long start = Ref.settledLiveBytes(be);
        try (Scope run = Scope.open()) {
            // Images whose label says which half, left or right, is brighter.
            double[] pixels = Ref.data(161, N * SIDE * SIDE, 0, 1);
            long[] labels = new long[N];
            for (int n = 0; n < N; n++) {
                double left = 0, right = 0;
                for (int i = 0; i < SIDE * SIDE; i++) {
                    if (i % SIDE < SIDE / 2) left += pixels[n * SIDE * SIDE + i];
                    else right += pixels[n * SIDE * SIDE + i];
                }
                labels[n] = left > right ? 0 : 1;
            }
            Tensor x = Ref.f32(pixels, N, 1, SIDE, SIDE);
            Tensor y = Tensor.of(labels);
            Kiln.manualSeed(3);
            Tensor conv1 = Tensor.randn(4, 1, 3, 3).mul_(0.5).requiresGrad(true);
            Tensor bias1 = Tensor.zeros(4).requiresGrad(true);
            Tensor gamma = Tensor.ones(4).requiresGrad(true);
            Tensor beta = Tensor.zeros(4).requiresGrad(true);
            Tensor conv2 = Tensor.randn(4, 4, 3, 3).mul_(0.3).requiresGrad(true);
            Tensor fc = Tensor.randn(2, 16).mul_(0.3).requiresGrad(true);
            Tensor[] params = {conv1, bias1, gamma, beta, conv2, fc};
            Tensor runningMean = Tensor.zeros(4), runningVar = Tensor.ones(4);
            double first = 0, last = 0;
            for (int step = 0; step < 80; step++) {
                try (Scope s = Scope.open()) {
                    Tensor h = Functional.conv2d(x, conv1, bias1, 1, 1);
                    h = Functional.batchNorm(h, runningMean, runningVar, gamma, beta, true, 0.1, 1e-5).relu();
                    h = Functional.maxPool2d(h, 2);
                    h = Functional.convTranspose2d(h, conv2, null, 1, 1).relu();
                    h = Functional.avgPool2d(h, 2).flatten(1, -1);
                    h = Functional.dropout(h, 0.1, true);
                    Tensor loss = Functional.crossEntropy(Functional.linear(h, fc, null), y, null, Functional.IGNORE_INDEX, dev.kiln.Reduction.MEAN, 0.05);
                    loss.backward();
                    try (GradMode ignored = GradMode.noGrad()) {
                        for (Tensor p : params) {
                            p.add_(p.grad(), -0.2);
                            p.grad().zero_();
                        }
                    }
                    if (step == 0) first = loss.item();
                    last = loss.item();
                }
            }
            assertTrue(last < first * 0.6, "the network trains: loss " + first + " -> " + last);
            assertEquals(DType.FLOAT32, runningMean.dtype());
        }
        // Not above the start: tensors that earlier tests still held may be collected meanwhile, so it may fall.
        long end = Ref.settledLiveBytes(be);
        assertTrue(end <= start, "every tensor of the run was released: live bytes " + start + " before, " + end + " after");
    }
}
