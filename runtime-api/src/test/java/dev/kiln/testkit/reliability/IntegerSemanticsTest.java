package dev.kiln.testkit.reliability;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.View;
import dev.kiln.testkit.BackendTest;
import dev.kiln.testkit.TestDevice;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Integer division and remainder are total functions with one answer on every backend (issue 14, finding 6):
 * floor division, x / 0 = 0, x % 0 = x (so x == (x / y) * y + x % y always), MIN / -1 = MIN, MIN % -1 = 0.
 */
class IntegerSemanticsTest {

    private static final long[] A = {7, -7, 7, -7, 5, -5, 0, Long.MIN_VALUE, Long.MIN_VALUE, Long.MAX_VALUE, 3};
    private static final long[] B = {2, 2, -2, -2, 0, 0, 0, -1, 1, -1, Long.MIN_VALUE};

    private static long quotient(long a, long b) { return b == 0 ? 0 : Math.floorDiv(a, b); }

    private static long remainder(long a, long b) { return b == 0 ? a : Math.floorMod(a, b); }

    @BackendTest
    void int64DivisionAndRemainderAreTotalAndFloored(TestDevice device) {
        var backend = device.activate();
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(A), b = Tensor.of(B);
            long[] q = new long[A.length], r = new long[A.length];
            for (int i = 0; i < A.length; i++) {
                q[i] = quotient(A[i], B[i]);
                r[i] = remainder(A[i], B[i]);
            }
            assertArrayEquals(q, a.copy().div_(b).toLongArray(), "div_");
            assertArrayEquals(r, binary(backend, BinaryOp.REMAINDER, a, b).toLongArray(), "remainder");
            for (int i = 0; i < A.length; i++) assertEquals(A[i], q[i] * B[i] + r[i], i);
        }
    }

    @BackendTest
    void int32EdgeCasesMatchTheInt64Rules(TestDevice device) {
        var backend = device.activate();
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.of(new int[] {Integer.MIN_VALUE, Integer.MIN_VALUE, 9, -9});
            Tensor b = Tensor.of(new int[] {-1, 0, 0, 4});
            assertArrayEquals(new int[] {Integer.MIN_VALUE, 0, 0, -3}, a.copy().div_(b).toIntArray(), "div_");
            assertArrayEquals(new int[] {0, Integer.MIN_VALUE, 9, 3}, binary(backend, BinaryOp.REMAINDER, a, b).toIntArray(), "remainder");
            assertArrayEquals(new int[] {Integer.MIN_VALUE, Integer.MIN_VALUE, 9, -9}, a.remainder(0).toIntArray(), "remainder by a scalar 0");
            assertArrayEquals(new int[] {0, 0, 0, 0}, Tensor.of(new int[] {Integer.MIN_VALUE, 1, 0, -5}).remainder(-1).toIntArray());
        }
    }

    /** The backend's binary kernel on two same-shaped tensors (remainder of two tensors has no public op). */
    private static Tensor binary(dev.kiln.backend.Backend backend, BinaryOp op, Tensor a, Tensor b) {
        Tensor out = Tensor.empty(a.dtype(), a.device(), a.shape());
        View o = out.view();
        backend.binary(op, a.view(), b.view(), o);
        return out;
    }

    private static void assertEquals(long expected, long actual, int i) {
        org.junit.jupiter.api.Assertions.assertEquals(expected, actual, "x == (x / y) * y + x % y at " + i);
    }

}
