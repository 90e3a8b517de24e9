package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** matmul with PyTorch's shape rules (vectors, batches, broadcast batches), linear, and their gradients. */
class MatmulConformanceTest {

    /** Reference batched product of dense row-major arrays with batch broadcasting over one leading dim. */
    static double[] ref(double[] a, int ba, int m, int k, double[] b, int bb, int n) {
        int batch = Math.max(ba, bb);
        double[] c = new double[batch * m * n];
        for (int t = 0; t < batch; t++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) s += a[(ba == 1 ? 0 : t) * m * k + i * k + p] * b[(bb == 1 ? 0 : t) * k * n + p * n + j];
                    c[t * m * n + i * n + j] = s;
                }
        return c;
    }

    @BackendTest
    void shapesAndValues(TestDevice device) {
        device.activate();
        int[][] mkn = {{1, 1, 1}, {3, 5, 4}, {17, 33, 9}, {64, 48, 80}, {130, 70, 129}};
        for (int[] s : mkn) {
            int m = s[0], k = s[1], n = s[2];
            double[] a = data(41 + m, m * k, -1, 1), b = data(42 + n, k * n, -1, 1);
            double[] expected = ref(a, 1, m, k, b, 1, n);
            try (Scope sc = Scope.open()) {
                assertClose(expected, Ref.f64(a, m, k).matmul(Ref.f64(b, k, n)), 1e-12, 1e-12, "f64 " + m + "x" + k + "x" + n);
                assertClose(expected, Ref.f32(a, m, k).matmul(Ref.f32(b, k, n)), 1e-4, 1e-4 * Math.sqrt(k), "f32 " + m + "x" + k + "x" + n);
                // transposed operands
                Tensor at = Ref.f64(a, m, k).t().contiguous().t(), bt = Ref.f64(b, k, n).t().contiguous().t();
                assertClose(expected, at.matmul(bt), 1e-12, 1e-12, "transposed operands");
            }
        }
        try (Scope sc = Scope.open()) {
            double[] a = data(43, 2 * 3 * 4, -1, 1), b = data(44, 4 * 5, -1, 1), v = data(45, 4, -1, 1);
            Tensor batched = Ref.f64(a, 2, 3, 4).matmul(Ref.f64(b, 4, 5));
            assertShape(batched, 2, 3, 5);
            assertClose(ref(a, 2, 3, 4, b, 1, 5), batched, 1e-12, 1e-12, "batch broadcast against a matrix");
            Tensor bb = Ref.f64(a, 2, 1, 3, 4).matmul(Ref.f64(data(46, 3 * 4 * 5, -1, 1), 3, 4, 5));
            assertShape(bb, 2, 3, 3, 5);
            assertShape(Ref.f64(a, 2, 3, 4).matmul(Ref.f64(v, 4)), 2, 3);
            assertShape(Ref.f64(v, 4).matmul(Ref.f64(b, 4, 5)), 5);
            assertShape(Ref.f64(v, 4).matmul(Ref.f64(v, 4)), new int[0]);
            assertClose(ref(v, 1, 1, 4, b, 1, 5), Ref.f64(v, 4).matmul(Ref.f64(b, 4, 5)), 1e-12, 1e-12, "vector @ matrix");
            assertThrows(IllegalArgumentException.class, () -> Ref.f64(a, 6, 4).matmul(Ref.f64(a, 6, 4)));
            assertThrows(IllegalArgumentException.class, () -> Ref.f64(a, 6, 4).matmul(Ref.f32(a, 4, 6)));
            Tensor y = Functional.linear(Ref.f64(a, 6, 4), Ref.f64(b, 5, 4), Ref.f64(new double[] {1, 2, 3, 4, 5}, 5));
            assertShape(y, 6, 5);
        }
        GradCheck.check("matmul", xs -> xs[0].matmul(xs[1]), new double[][] {data(47, 12, -1, 1), data(48, 20, -1, 1)}, new int[][] {{3, 4}, {4, 5}});
        GradCheck.check("batched broadcast matmul", xs -> xs[0].matmul(xs[1]),
                new double[][] {data(49, 24, -1, 1), data(50, 8, -1, 1)}, new int[][] {{2, 3, 4}, {4, 2}});
        GradCheck.check("vector matmul", xs -> xs[0].matmul(xs[1]), new double[][] {data(51, 4, -1, 1), data(52, 12, -1, 1)}, new int[][] {{4}, {4, 3}});
        GradCheck.check("batched matmul of transposed matrices (rows not a view)", xs -> xs[0].mT().matmul(xs[1]),
                new double[][] {data(56, 24, -1, 1), data(57, 8, -1, 1)}, new int[][] {{2, 4, 3}, {4, 2}});
        GradCheck.check("linear", xs -> Functional.linear(xs[0], xs[1], xs[2]),
                new double[][] {data(53, 12, -1, 1), data(54, 8, -1, 1), data(55, 2, -1, 1)}, new int[][] {{3, 4}, {2, 4}, {2}});
        GradCheck.check("linear on a stack", xs -> Functional.linear(xs[0], xs[1], xs[2]),
                new double[][] {data(58, 24, -1, 1), data(54, 8, -1, 1), data(55, 2, -1, 1)}, new int[][] {{2, 3, 4}, {2, 4}, {2}});
        GradCheck.check("linear on a vector", xs -> Functional.linear(xs[0], xs[1], null),
                new double[][] {data(59, 4, -1, 1), data(54, 8, -1, 1)}, new int[][] {{4}, {2, 4}});
        try (Scope sc = Scope.open()) {
            Tensor x = Tensor.randn(DType.FLOAT32, null, 8, 16);
            assertShape(x.matmul(x.t()), 8, 8);
        }
    }
}
