package dev.kiln.testkit.reliability;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.testkit.BackendTest;
import dev.kiln.testkit.TestDevice;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Stream;

import static dev.kiln.testkit.reliability.Refusal.assertRefused;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every public entry point that takes sizes, given hostile ones (zero, negative, int and long overflow, huge):
 * each either makes a tensor whose element count is the exact product of its shape, or refuses with an
 * IllegalArgumentException (or the allocator's IllegalStateException for memory) that names the op. Never
 * another exception, a wrapped count, or a kernel writing past a buffer (issue 14, findings 1, 2, 5, 16).
 */
class HostileSizesTest {
    private static final int MAX = Integer.MAX_VALUE;

    /** Shapes with a negative dimension, an element count past 2^63, a byte count past 2^63, or nothing in them. */
    static final List<int[]> HOSTILE_SHAPES = List.of(
            new int[] {-2}, new int[] {3, Integer.MIN_VALUE}, new int[] {MAX, MAX, MAX}, new int[] {65536, 65536, 65536, 65536},
            new int[] {MAX, MAX}, new int[] {1 << 20, 1 << 20, 1 << 24}, new int[] {0, MAX, MAX, MAX}, new int[] {0}, new int[] {MAX, 0});

    record Entry(String op, Function<int[], Tensor> make) {}

    static final List<Entry> CREATORS = List.of(
            new Entry("zeros", s -> Tensor.zeros(DType.FLOAT32, null, s)),
            new Entry("ones int64", s -> Tensor.ones(DType.INT64, null, s)),
            new Entry("full bool", s -> Tensor.full(1, DType.BOOL, null, s)),
            new Entry("empty", s -> Tensor.empty(DType.FLOAT32, null, s)),
            new Entry("rand", s -> Tensor.rand(DType.FLOAT32, null, s)),
            new Entry("expand", s -> Tensor.ones(DType.FLOAT32, null, ones(s.length)).expand(s)),
            new Entry("expand+contiguous", s -> Tensor.ones(DType.FLOAT32, null, ones(s.length)).expand(s).contiguous()),
            new Entry("reshape of empty", s -> Tensor.zeros(DType.FLOAT32, null, 0).reshape(s)));

    private static int[] ones(int rank) {
        int[] o = new int[rank];
        java.util.Arrays.fill(o, 1);
        return o;
    }

    @TestFactory
    Stream<DynamicTest> creatorsAcceptOnlyShapesWithAnExactCount() {
        List<Object[]> cases = new ArrayList<>();
        for (Entry e : CREATORS) for (int[] s : HOSTILE_SHAPES) cases.add(new Object[] {e, s});
        return TestDevice.perDevice(cases, c -> ((Entry) c[0]).op() + " " + java.util.Arrays.toString((int[]) c[1]), (device, c) -> {
            Entry e = (Entry) c[0];
            int[] shape = (int[]) c[1];
            try (Scope s = Scope.open()) {
                Tensor t;
                try {
                    t = e.make().apply(shape);
                } catch (IllegalArgumentException | IllegalStateException refused) {
                    assertTrue(refused.getMessage() != null && !refused.getMessage().isBlank(), "refusal without a message");
                    return;
                } catch (RuntimeException | Error other) {
                    fail(e.op() + " " + java.util.Arrays.toString(shape) + " failed with " + other + " instead of Kiln's refusal", other);
                    return;
                }
                BigInteger exact = BigInteger.ONE;
                for (int d : shape) exact = exact.multiply(BigInteger.valueOf(d));
                assertEquals(exact, BigInteger.valueOf(t.numel()), "element count of " + java.util.Arrays.toString(shape));
                assertArrayEquals(shape, t.shape());
            }
        });
    }

    @BackendTest
    void overflowingCountsAreRefusedNamingTheShape(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            assertRefused(IllegalArgumentException.class, () -> Tensor.zeros(DType.FLOAT32, null, MAX, MAX), "[2147483647, 2147483647]", "bytes");
            assertRefused(IllegalArgumentException.class, () -> Tensor.zeros(65536, 65536, 65536, 65536), "[65536, 65536, 65536, 65536]", "elements");
            assertRefused(IllegalArgumentException.class, () -> Tensor.ones(1, 1).expand(MAX, MAX).contiguous(), "[2147483647, 2147483647]");
            assertRefused(IllegalArgumentException.class, () -> Tensor.ones(1, 1, 1).expand(MAX, MAX, MAX), "expand", "elements");
            // A view of 4.6e18 elements is legal (it is a stride-0 view), and keeps its exact count.
            assertEquals((long) MAX * MAX, Tensor.ones(1, 1).expand(MAX, MAX).numel());
        }
    }

    @BackendTest
    void rangesAndConcatenationsBeyondOneDimensionAreRefused(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            assertRefused(IllegalArgumentException.class, () -> Tensor.arange(3_000_000_000L), "arange", "3000000000", "2147483647");
            assertRefused(IllegalArgumentException.class, () -> Tensor.arange(0, 1, 1e-300, DType.FLOAT32, null), "arange");
            assertRefused(IllegalArgumentException.class, () -> Tensor.arange(0, Double.POSITIVE_INFINITY, 1, DType.FLOAT32, null), "arange", "finite");
            assertRefused(IllegalArgumentException.class, () -> Tensor.linspace(0, 1, -1), "linspace", "-1");
            Tensor big = Tensor.ones(1).expand(MAX);
            assertRefused(IllegalArgumentException.class, () -> Tensor.cat(List.of(big, big), 0), "cat", "4294967294", "dimension");
            Tensor x = Tensor.arange(4);
            assertRefused(IllegalArgumentException.class, () -> x.narrow(0, 1, MAX), "narrow", "2147483647");
            assertArrayEquals(new long[] {0}, x.slice(0, 0, 4, MAX).toLongArray(), "a step past the end takes the first element");
            assertRefused(IllegalArgumentException.class, () -> x.select(0, MAX), "select");
            assertRefused(IllegalArgumentException.class, () -> x.reshape(MAX, MAX, 0, -1), "reshape");
            // Generated a chunk at a time: values past the first chunk are still exact.
            Tensor r = Tensor.arange(0, 200_000, 1, DType.INT64, null);
            assertEquals(199_999L, r.toLongArray()[199_999]);
            assertEquals(1.0, Tensor.linspace(0, 1, 100_001).toDoubleArray()[100_000]);
        }
    }

    @BackendTest
    void convolutionSpecsNameTheValuesPassed(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.ones(1, 1, 4, 4), w = Tensor.ones(1, 1, 2, 2);
            assertRefused(IllegalArgumentException.class, () -> dev.kiln.Functional.conv2d(x, w, null, 0, 1, 1, 1), "conv2d", "stride=(0, 0)", "padding=(1, 1)");
            assertRefused(IllegalArgumentException.class, () -> dev.kiln.Functional.conv2d(x, w, null, 1, -3, 1, 1), "conv2d", "padding=(-3, -3)");
            assertRefused(IllegalArgumentException.class, () -> dev.kiln.Functional.conv2d(x, w, null, 1, MAX, 1, 1), "conv2d");
        }
    }
}
