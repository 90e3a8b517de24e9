package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** masked_fill, norm, any/all, isfinite, isclose/allclose and clone against host references. */
class PredicateConformanceTest {

    @BackendTest
    void maskedFillReplacesWhereTheMaskHolds(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Ref.f64(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor rowMask = Tensor.of(new boolean[] {true, false, true}, 3);
            assertArrayEquals(new double[] {-1, 2, -1, -1, 5, -1}, x.maskedFill(rowMask, -1).toDoubleArray());
            Tensor keyPadding = Tensor.of(new boolean[] {false, true}, 2, 1);
            assertArrayEquals(new double[] {1, 2, 3, Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY},
                    x.maskedFill(keyPadding, Double.NEGATIVE_INFINITY).toDoubleArray());
            assertThrows(IllegalArgumentException.class, () -> x.maskedFill(Ref.f64(new double[] {1, 0, 1}, 3), 0));
            assertThrows(IllegalArgumentException.class, () -> x.maskedFill(Tensor.of(new boolean[] {true, false, true, false, true, false, true, false, true, false, true, false}, 2, 2, 3), 0));
        }
        GradCheck.check("masked_fill", t -> t.maskedFill(Tensor.of(new boolean[] {true, false, false, true}, 4), 3), data(3, 12, -1, 1), 3, 4);
    }

    private static double hostNorm(double[] v, double p) {
        double acc = p == Double.NEGATIVE_INFINITY ? Double.POSITIVE_INFINITY : 0;
        for (double x : v) {
            double a = Math.abs(x);
            if (p == Double.POSITIVE_INFINITY) acc = Math.max(acc, a);
            else if (p == Double.NEGATIVE_INFINITY) acc = Math.min(acc, a);
            else acc += Math.pow(a, p);
        }
        return Double.isInfinite(p) ? acc : Math.pow(acc, 1 / p);
    }

    @BackendTest
    void normsOverAllElementsAndOverDims(TestDevice device) {
        device.activate();
        double[] x = data(4, 12, -2, 2);
        try (Scope s = Scope.open()) {
            Tensor t = Ref.f64(x, 3, 4);
            for (double p : new double[] {2, 1, 3, 0.5, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
                assertClose(new double[] {hostNorm(x, p)}, t.norm(p), 1e-12, 1e-12, "p=" + p);
                double[] rows = new double[3];
                for (int r = 0; r < 3; r++) rows[r] = hostNorm(java.util.Arrays.copyOfRange(x, 4 * r, 4 * r + 4), p);
                Tensor perRow = t.norm(p, new int[] {1}, true);
                assertShape(perRow, 3, 1);
                assertClose(rows, perRow, 1e-12, 1e-12, "rows p=" + p);
            }
            assertClose(new double[] {hostNorm(x, 2)}, t.norm(), 1e-12, 1e-12, "Frobenius");
            assertThrows(IllegalArgumentException.class, () -> t.norm(0));
            assertThrows(IllegalArgumentException.class, () -> Tensor.of(new long[] {1, 2}).norm());

            Tensor zero = Tensor.zeros(DType.FLOAT64, null, 3).requiresGrad(true);
            zero.norm().backward();
            assertArrayEquals(new double[] {0, 0, 0}, zero.grad().toDoubleArray(), "subgradient 0 at the origin, not NaN");
        }
        GradCheck.check("norm 2", t -> t.norm(), x, 3, 4);
        GradCheck.check("norm 2 over dim 1", t -> t.norm(2, new int[] {1}, false), x, 3, 4);
        GradCheck.check("norm 1 over dim 0", t -> t.norm(1, new int[] {0}, false), x, 3, 4);
        GradCheck.check("norm 3", t -> t.norm(3), x, 3, 4);
        GradCheck.check("norm inf over dim 1", t -> t.norm(Double.POSITIVE_INFINITY, new int[] {1}, true), x, 3, 4);
    }

    @BackendTest
    void predicates(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Ref.f64(new double[] {0, 1, Double.NaN, Double.POSITIVE_INFINITY, -2, Double.NEGATIVE_INFINITY}, 2, 3);
            assertArrayEquals(new boolean[] {true, true, false, false, true, false}, x.isfinite().toBooleanArray());
            assertArrayEquals(new boolean[] {true, true, true}, Tensor.of(new int[] {1, 2, 3}).isfinite().toBooleanArray());
            Tensor m = Ref.f64(new double[] {0, 0, 1, 2, 3, 4}, 2, 3);
            assertEquals(DType.BOOL, m.any().dtype());
            assertTrue(m.any().item() != 0);
            assertFalse(m.all().item() != 0);
            assertArrayEquals(new boolean[] {true, true}, m.any(1, false).toBooleanArray());
            assertArrayEquals(new boolean[] {false, true}, m.all(1, false).toBooleanArray());
            assertArrayEquals(new boolean[] {true, true, true}, m.any(0, false).toBooleanArray());
            assertArrayEquals(new boolean[] {false, false, true}, m.all(0, false).toBooleanArray());
            assertArrayEquals(new boolean[] {false, true}, Ref.f64(new double[] {0, 0, 0, 0, 5, 0}, 2, 3).any(1, false).toBooleanArray());
            assertShape(m.all(0, true), 1, 3);
            assertTrue(Tensor.of(new boolean[] {true, true}).all().item() != 0);
        }
    }

    @BackendTest
    void iscloseAndAllclose(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor a = Ref.f64(new double[] {1, 2, Double.NaN, Double.POSITIVE_INFINITY, 100}, 5);
            Tensor b = Ref.f64(new double[] {1 + 1e-9, 2.1, Double.NaN, Double.POSITIVE_INFINITY, 100.0005}, 5);
            assertArrayEquals(new boolean[] {true, false, false, true, true}, a.isclose(b, 1e-5, 1e-8, false).toBooleanArray());
            assertArrayEquals(new boolean[] {true, false, true, true, true}, a.isclose(b, 1e-5, 1e-8, true).toBooleanArray(), "equal_nan");
            assertTrue(Ref.f64(new double[] {1, 2}, 2).allclose(Ref.f32(new double[] {1, 2 + 1e-6}, 2)));
            assertFalse(Ref.f64(new double[] {1, 2}, 2).allclose(Ref.f64(new double[] {1, 2.1}, 2)));
            assertTrue(Ref.f64(new double[] {1, 2}, 2).allclose(Ref.f64(new double[] {1, 2.1}, 2), 0, 0.2, false));
            assertTrue(a.allclose(a, 1e-5, 1e-8, true));
            assertFalse(a.allclose(a));
        }
    }

    @BackendTest
    void cloneSharesNothingAndCarriesTheGradient(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Ref.f64(new double[] {1, 2, 3}, 3);
            Tensor c = x.clone();
            c.fill_(0);
            assertArrayEquals(new double[] {1, 2, 3}, x.toDoubleArray());
        }
        GradCheck.check("clone", Tensor::clone, data(2, 6, -1, 1), 2, 3);
    }
}
