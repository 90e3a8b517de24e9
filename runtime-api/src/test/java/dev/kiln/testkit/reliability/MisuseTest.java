package dev.kiln.testkit.reliability;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.testkit.BackendTest;
import dev.kiln.testkit.TestDevice;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.kiln.testkit.reliability.Refusal.assertRefused;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Careless use: empty reductions, scopes closed out of order or elsewhere, inference from several threads (findings 8, 9). */
class MisuseTest {

    @BackendTest
    void maxAndMinOfAnEmptyTensorAreRefused(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor empty = Tensor.zeros(0, 3);
            assertRefused(IllegalArgumentException.class, empty::max, "max", "[0, 3]", "empty");
            assertRefused(IllegalArgumentException.class, empty::min, "min", "[0, 3]", "empty");
            assertEquals(Double.NEGATIVE_INFINITY, empty.amax(new int[] {0}, false).toDoubleArray()[0], "amax over a dimension keeps ONNX's identity");
            assertEquals(7.0, Tensor.of(new float[] {7}).max().item());
        }
    }

    @BackendTest
    void aScopeClosedBeforeItsInnerScopeClosesBothAndTheThreadLeavesThem(TestDevice device) {
        device.activate();
        try (Scope root = Scope.open()) {
            Scope outer = Scope.open();
            Tensor a = Tensor.ones(2);
            Scope inner = Scope.open();
            Tensor b = Tensor.ones(2);
            assertRefused(IllegalStateException.class, outer::close, "reverse order", "1 scope");
            assertTrue(a.isClosed() && b.isClosed(), "both scopes closed what they owned");
            inner.close(); // already closed with outer: a no-op
            Tensor after = Tensor.ones(2);
            assertEquals(1, root.size(), "a tensor made afterwards belongs to the enclosing scope, not to a closed one");
            assertFalse(after.isClosed());
        }
    }

    @BackendTest
    void aScopeClosedFromAnotherThreadIsRefusedAndStaysUsable(TestDevice device) throws Exception {
        device.activate();
        try (Scope root = Scope.open()) {
            Scope mine = Scope.open();
            Tensor t = Tensor.ones(2);
            Thread other = Thread.ofPlatform().start(() ->
                    assertRefused(IllegalStateException.class, mine::close, "thread that opened it", "still open"));
            other.join();
            assertFalse(t.isClosed());
            mine.close();
            assertTrue(t.isClosed());
            Tensor after = Tensor.ones(2);
            assertEquals(1, root.size());
            assertFalse(after.isClosed());
        }
    }

    @BackendTest
    void concurrentInferenceOnSharedWeightsIsBitwiseEqualToSerial(TestDevice device) throws Exception {
        var backend = device.activate();
        for (DType dt : dev.kiln.testkit.Ref.floatingTypes()) {
            dev.kiln.Kiln.manualSeed(14);
            Tensor w1 = Scope.escape(Tensor.randn(dt, null, 256, 384)), w2 = Scope.escape(Tensor.randn(dt, null, 384, 64));
            Tensor conv = Scope.escape(Tensor.randn(dt, null, 8, 3, 3, 3));
            List<Tensor> inputs = new ArrayList<>();
            for (int i = 0; i < 4; i++) inputs.add(Scope.escape(Tensor.randn(dt, null, 96, 256)));
            java.util.function.Function<Tensor, double[]> infer = x -> {
                dev.kiln.Kiln.setDefaultDevice(backend.device());
                try (Scope s = Scope.open(); var ng = dev.kiln.autograd.GradMode.noGrad()) {
                    Tensor h = x.matmul(w1).relu().matmul(w2);
                    Tensor normed = dev.kiln.Functional.layerNorm(h, new int[] {64}, null, null, 1e-5);
                    Tensor image = normed.reshape(6, 16, 8, 8).narrow(1, 0, 3);
                    Tensor features = dev.kiln.Functional.conv2d(image, conv, null, 1, 1);
                    return Tensor.cat(List.of(normed.softmax(1).sum(new int[] {0}, false), features.mean(new int[] {0, 2, 3}, false)), 0).toDoubleArray();
                }
            };
            List<double[]> serial = new ArrayList<>();
            for (Tensor x : inputs) serial.add(infer.apply(x));
            ExecutorService pool = Executors.newFixedThreadPool(inputs.size());
            try {
                for (int round = 0; round < 3; round++) {
                    List<Future<double[]>> results = new ArrayList<>();
                    for (Tensor x : inputs) results.add(pool.submit(() -> infer.apply(x)));
                    for (int i = 0; i < inputs.size(); i++)
                        assertArrayEquals(serial.get(i), results.get(i).get(), dt + " input " + i + ", round " + round);
                }
            } finally {
                pool.shutdown();
                w1.close();
                w2.close();
                conv.close();
                inputs.forEach(Tensor::close);
            }
        }
        dev.kiln.testkit.TestDevice.requireFloat64();
    }
}
