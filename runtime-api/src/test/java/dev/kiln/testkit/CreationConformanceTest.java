package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
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

    @BackendTest
    void randomMatchesThePhiloxReference(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(1234);
            double[] u = Tensor.rand(DType.FLOAT64, null, 3, 5).toDoubleArray();
            double[] n = Tensor.randn(DType.FLOAT64, null, 7).toDoubleArray();
            long[] ints = Tensor.randint(-3, 9, 11).toLongArray();
            for (int i = 0; i < u.length; i++) assertEquals(Philox.sample(Distribution.UNIFORM, 0, 1, 1234, i), u[i], 0, "uniform " + i);
            for (int i = 0; i < n.length; i++) assertEquals(Philox.sample(Distribution.NORMAL, 0, 1, 1234, 15 + i), n[i], 1e-12, "normal " + i);
            for (int i = 0; i < ints.length; i++) assertEquals((long) Philox.sample(Distribution.INTEGER, -3, 9, 1234, 22 + i), ints[i], "int " + i);
            Kiln.manualSeed(1234);
            assertArrayEquals(u, Tensor.rand(DType.FLOAT64, null, 3, 5).toDoubleArray(), "the same seed gives the same numbers");
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
