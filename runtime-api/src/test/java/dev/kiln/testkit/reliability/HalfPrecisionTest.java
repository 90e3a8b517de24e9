package dev.kiln.testkit.reliability;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.testkit.BackendTest;
import dev.kiln.testkit.TestDevice;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * float16 and bfloat16 matmul, softmax and their backward run on every backend (they threw on OpenCL): computed
 * in float32 and rounded once, so they match the float32 result to the half type's precision (finding 15).
 */
class HalfPrecisionTest {

    private static void assertNear(float[] expected, Tensor actual, double tol, String what) {
        float[] a = actual.to(DType.FLOAT32).toFloatArray();
        assertEquals(expected.length, a.length, what);
        for (int i = 0; i < a.length; i++)
            assertTrue(Math.abs(a[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])), what + " at " + i + ": " + a[i] + " vs " + expected[i]);
    }

    @BackendTest
    void halfMatmulSoftmaxAndBackwardMatchFloat32(TestDevice device) {
        device.activate();
        for (DType half : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
            double tol = half == DType.FLOAT16 ? 4e-3 : 3e-2;
            try (Scope s = Scope.open()) {
                Kiln.manualSeed(15);
                // Values exactly representable in both half types, so both paths start from the same inputs.
                Tensor a32 = Tensor.randn(4, 8).to(half).to(DType.FLOAT32), b32 = Tensor.randn(8, 3).to(half).to(DType.FLOAT32);
                Tensor a = a32.to(half).requiresGrad(true), b = b32.to(half).requiresGrad(true);
                Tensor a32g = a32.copy().requiresGrad(true), b32g = b32.copy().requiresGrad(true);

                Tensor y = a.matmul(b).softmax(1);
                Tensor y32 = a32g.matmul(b32g).softmax(1);
                assertEquals(half, y.dtype(), "the result keeps the half type");
                assertNear(y32.toFloatArray(), y, tol, half + " matmul+softmax");
                assertNear(a32g.matmul(b32g).logSoftmax(0).toFloatArray(), a.matmul(b).logSoftmax(0), tol, half + " log_softmax");

                Tensor w = Tensor.linspace(-1, 1, 12).reshape(4, 3);
                y.mul(w.to(half)).sum().backward();
                y32.mul(w).sum().backward();
                assertEquals(half, a.grad().dtype());
                assertNear(a32g.grad().toFloatArray(), a.grad(), tol * 4, half + " grad a");
                assertNear(b32g.grad().toFloatArray(), b.grad(), tol * 4, half + " grad b");
            }
        }
    }
}
