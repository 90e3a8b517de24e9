package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.backend.Backend;

import static dev.kiln.testkit.Ref.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The autograd engine: accumulation, shared subgraphs, noGrad, detach, retained graphs and their errors. */
class AutogradConformanceTest {

    @BackendTest
    void accumulatesAcrossUsesAndCalls(TestDevice device) {
        device.activate();
        DType t = Ref.widest();
        Tensor x = Tensor.of(new double[] {1, 2, 3}, t, null, 3).requiresGrad(true);
        try (Scope s = Scope.open()) {
            Tensor y = x.mul(x).add(x.exp()).sum();   // x used three times
            y.backward();
        }
        assertClose(new double[] {2 + Math.exp(1), 4 + Math.exp(2), 6 + Math.exp(3)}, x.grad(), t == DType.FLOAT64 ? 1e-12 : 1e-5, 0, "d(x^2 + e^x)");
        try (Scope s = Scope.open()) {
            x.mul(3).sum().backward();
        }
        assertClose(new double[] {5 + Math.exp(1), 7 + Math.exp(2), 9 + Math.exp(3)}, x.grad(), t == DType.FLOAT64 ? 1e-12 : 1e-5, 0, "gradients accumulate");
        x.setGrad(null);
        assertNull(x.grad());
        x.close();
    }

    @BackendTest
    void noGradDetachAndExplicitGradient(TestDevice device) {
        device.activate();
        DType t = Ref.widest();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new double[] {1, 2}, t, null, 2).requiresGrad(true);
            try (GradMode ignored = GradMode.noGrad()) {
                assertFalse(x.mul(2).requiresGrad());
            }
            assertTrue(x.mul(2).requiresGrad());
            Tensor d = x.detach();
            assertFalse(d.requiresGrad());
            Tensor y = x.mul(d).mul(x);  // d/dx = 2 x d = 2x^2
            y.backward(Tensor.of(new double[] {1, 10}, t, null, 2));
            assertClose(new double[] {2, 80}, x.grad(), t == DType.FLOAT64 ? 1e-12 : 1e-5, 0, "explicit output gradient, detach stops flow");
            assertThrows(IllegalStateException.class, () -> x.mul(2).backward(), "non-scalar needs a gradient");
            assertThrows(IllegalStateException.class, () -> Tensor.ones(2).sum().backward(), "nothing requires grad");
            assertThrows(IllegalArgumentException.class, () -> Tensor.ones(DType.INT64, null, 2).requiresGrad(true));
            assertThrows(IllegalStateException.class, () -> x.add_(Tensor.ones(t, null, 2)),
                    "in-place update of a leaf that requires grad needs noGrad");
        }
    }

    @BackendTest
    void retainGraphAllowsASecondPass(TestDevice device) {
        device.activate();
        DType t = Ref.widest();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new double[] {0.5}, t, null, 1).requiresGrad(true);
            Tensor y = x.tanh().sum();
            y.backward(Tensor.scalar(1, t, null), true);
            y.backward(Tensor.scalar(1, t, null), true);
            double d = 1 - Math.tanh(0.5) * Math.tanh(0.5);
            assertClose(new double[] {2 * d}, x.grad(), t == DType.FLOAT64 ? 1e-12 : 1e-5, 0, "two passes");
            Tensor z = x.sin().sum();
            z.backward();
            IllegalStateException e = assertThrows(IllegalStateException.class, z::backward);
            assertTrue(e.getMessage().contains("already freed"), e.getMessage());
        }
    }

    @BackendTest
    void closingIntermediatesBeforeBackwardIsSafe(TestDevice device) {
        device.activate();
        DType t = Ref.widest();
        Tensor w = Tensor.of(new double[] {1, -2, 3}, t, null, 3).requiresGrad(true);
        Tensor loss;
        try (Scope inner = Scope.open()) {
            Tensor h = w.mul(w);          // closed with the inner scope
            Tensor g = h.exp();
            loss = inner.keep(g.sum());
        }
        loss.backward();
        assertNotNull(w.grad());
        assertClose(new double[] {2 * Math.exp(1), -4 * Math.exp(4), 6 * Math.exp(9)}, w.grad(), t == DType.FLOAT64 ? 1e-12 : 1e-5, 0, "graph survived its scope");
        loss.close();
        w.close();
    }

    @BackendTest
    void aForwardPassWithGradientsFreesItsGraphWhenItsTensorsClose(TestDevice device) {
        Backend be = device.activate();
        DType t = Ref.widest();
        try (Tensor x = Tensor.randn(t, null, 64, 32); Tensor w = Tensor.randn(t, null, 32, 16).requiresGrad(true)) {
            long start = Ref.settledLiveBytes(be);
            for (int i = 0; i < 6; i++) {
                try (Scope step = Scope.open()) {
                    // No backward: tanh saved its output and matmul its inputs, so only the nodes held them.
                    x.matmul(w).tanh().sum();
                }
                assertTrue(be.memoryStats().liveBytes() <= start,
                        "pass " + i + ": " + be.memoryStats().liveBytes() + " live bytes, " + start + " before");
            }
        }
    }

    @BackendTest
    void deepChainsDoNotOverflowTheStack(TestDevice device) {
        device.activate();
        DType t = Ref.widest();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.of(new double[] {1}, t, null, 1).requiresGrad(true);
            Tensor y = x;
            for (int i = 0; i < 5000; i++) y = y.mul(1.0001);
            y.sum().backward();
            // 5,000 roundings: about 3e-4 relative in float32.
            assertEquals(Math.pow(1.0001, 5000), x.grad().item(), t == DType.FLOAT64 ? 1e-9 : 1e-3);
        }
    }
}
