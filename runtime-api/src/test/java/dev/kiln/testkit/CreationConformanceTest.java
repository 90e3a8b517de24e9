package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.backend.Backend;
import dev.kiln.backend.Distribution;
import dev.kiln.random.Philox;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Factories, and a random generator that gives the same numbers on every backend for one seed. */
class CreationConformanceTest {

    @BackendTest
    void constantsAndRanges(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            assertClose(new double[] {0, 0, 0, 0}, Tensor.zeros(2, 2), 0, 0, "zeros");
            assertClose(new double[] {1, 1}, Tensor.ones(DType.INT32, null, 2), 0, 0, "ones int32");
            assertClose(new double[] {2.5, 2.5, 2.5}, Tensor.full(2.5, 3), 0, 0, "full");
            assertArrayEquals(new long[] {0, 1, 2, 3, 4}, Tensor.arange(5).toLongArray());
            assertClose(new double[] {1, 1.5, 2, 2.5}, Tensor.arange(1, 3, 0.5, DType.FLOAT32, null), 0, 0, "arange with step");
            assertClose(new double[] {0, 0.25, 0.5, 0.75, 1}, Tensor.linspace(0, 1, 5), 1e-7, 0, "linspace");
            assertClose(new double[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, Tensor.eye(3), 0, 0, "eye");
            assertShape(Tensor.empty(DType.FLOAT64, null, 3, 0), 3, 0);
            assertArrayEquals(new boolean[] {true, false}, Tensor.of(new boolean[] {true, false}).toBooleanArray());
        }
    }

    /**
     * arange is built on the device ({@code Backend.arange}): lengths that are no power of two (the default doubles
     * its sequence), negative and fractional steps, integer, float and half outputs, and a strided output view
     * filled in row-major order, against {@code start + i * step} rounded once to the dtype.
     */
    @BackendTest
    void arangeIsWrittenOnTheDevice(TestDevice device) {
        Backend be = device.activate();
        try (Scope s = Scope.open()) {
            for (DType t : new DType[] {DType.FLOAT32, DType.INT64, DType.INT32, DType.FLOAT16}) {
                for (int n : new int[] {1, 7, 1000}) {
                    double start = t.isFloatingPoint() ? -2.5 : -3, step = t.isFloatingPoint() ? 0.75 : 2;
                    Tensor a = Tensor.arange(start, start + n * step, step, t, null);
                    assertShape(a, n);
                    double[] want = new double[n];
                    for (int i = 0; i < n; i++) want[i] = roundTo(t, start + i * step);
                    // One rounding in the dtype may differ from the exact product by half an ulp of the largest value.
                    assertClose(want, a, 0, t == DType.FLOAT32 ? 1e-7 * Math.abs(start + n * step) : 0, "arange " + t + " n=" + n);
                }
            }
            assertArrayEquals(new long[] {5, 3, 1}, Tensor.arange(5, 0, -2, DType.INT64, null).toLongArray());
            Tensor grid = Tensor.zeros(DType.INT64, null, 3, 4);
            Tensor transposed = grid.t();
            be.arange(10, 1, transposed.view());
            assertArrayEquals(new long[] {10, 13, 16, 19, 11, 14, 17, 20, 12, 15, 18, 21}, grid.toLongArray(), "row-major order of a strided view");
        }
    }

    private static double roundTo(DType t, double v) {
        return switch (t) {
            case FLOAT32 -> (float) v;
            case FLOAT16 -> Float.float16ToFloat(Float.floatToFloat16((float) v));
            case INT32, INT64 -> (long) v;
            default -> v;
        };
    }

    @BackendTest
    void randomMatchesThePhiloxReference(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            // float64 samples match the reference exactly; the float32 checks below run everywhere.
            if (TestDevice.computesFloat64()) philoxFloat64Samples();
            Kiln.manualSeed(7);
            Tensor big = Tensor.randn(DType.FLOAT32, null, 20000);
            assertEquals(0, big.mean().item(), 0.03);
            assertEquals(1, big.std(new int[0], false).item(), 0.03);
            Tensor r = Tensor.rand(DType.FLOAT32, null, 20000);
            assertTrue(r.min().item() >= 0 && r.max().item() < 1);
            assertEquals(0.5, r.mean().item(), 0.02);
            double p = Tensor.bernoulli(0.3, DType.FLOAT32, null, 20000).mean().item();
            assertEquals(0.3, p, 0.02);
            Tensor probs = Tensor.full(0.8, 20000);
            assertEquals(0.8, probs.bernoulli().mean().item(), 0.02);
        }
        TestDevice.requireFloat64();
    }

    private static void philoxFloat64Samples() {
        Kiln.manualSeed(1234);
        double[] u = Tensor.rand(DType.FLOAT64, null, 3, 5).toDoubleArray();
        double[] n = Tensor.randn(DType.FLOAT64, null, 7).toDoubleArray();
        long[] ints = Tensor.randint(-3, 9, 11).toLongArray();
        for (int i = 0; i < u.length; i++) assertEquals(Philox.sample(Distribution.UNIFORM, 0, 1, 1234, i), u[i], 0, "uniform " + i);
        for (int i = 0; i < n.length; i++) assertEquals(Philox.sample(Distribution.NORMAL, 0, 1, 1234, 15 + i), n[i], 1e-12, "normal " + i);
        for (int i = 0; i < ints.length; i++) assertEquals((long) Philox.sample(Distribution.INTEGER, -3, 9, 1234, 22 + i), ints[i], "int " + i);
        Kiln.manualSeed(1234);
        assertArrayEquals(u, Tensor.rand(DType.FLOAT64, null, 3, 5).toDoubleArray(), "the same seed gives the same numbers");
    }

    /** The published known answer of Philox4x32-10 for counter 0 and key 0 (Random123's test vectors). */
    @BackendTest
    void philoxKnownAnswer(TestDevice device) {
        device.activate();
        assertEquals(0x6627e8d5, Philox.word(0, 0, 0));
        assertEquals(0xe169c58d, Philox.word(0, 0, 1));
        assertEquals(0xbc57ac4c, Philox.word(0, 0, 2));
        assertEquals(0x9b00dbd8, Philox.word(0, 0, 3));
    }
}
