package dev.kiln.testkit;

import dev.kiln.Scope;
import dev.kiln.DType;
import dev.kiln.Tensor;

import java.util.List;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Views share storage; ops on strided views give the same answers as on dense copies; gradients flow through views. */
class ViewConformanceTest {
    private static final double[] X = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

    @BackendTest
    void viewsDescribeTheSameStorage(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor t = Ref.f64(X, 2, 3, 4);
            assertClose(new double[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, t.select(0, 0).t().contiguous(), 0, 0, "select + t");
            Tensor p = t.permute(2, 0, 1);
            assertShape(p, 4, 2, 3);
            assertFalse(p.isContiguous());
            assertClose(new double[] {0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21}, p.narrow(0, 0, 2).contiguous(), 0, 0, "permute + narrow");
            assertClose(new double[] {1, 3, 13, 15}, t.slice(2, 1, 4, 2).select(1, 0).contiguous(), 0, 0, "slice with step");
            assertClose(new double[] {20, 21, 22, 23}, t.select(-2, -1).select(0, -1), 0, 0, "negative indices");
            assertShape(t.unsqueeze(1), 2, 1, 3, 4);
            assertShape(t.unsqueeze(-1), 2, 3, 4, 1);
            assertShape(t.unsqueeze(1).squeeze(), 2, 3, 4);
            assertShape(t.reshape(4, -1), 4, 6);
            assertShape(t.flatten(), 24);
            assertShape(t.flatten(1, 2), 2, 12);
            assertShape(Ref.f64(new double[] {1, 2, 3}, 3, 1).expand(2, 3, 4), 2, 3, 4);
            assertClose(new double[] {1, 1, 2, 2}, Ref.f64(new double[] {1, 2}, 2, 1).expand(2, 2), 0, 0, "expand");
            // reshape of a transposed tensor must copy; view must refuse
            Tensor tt = Ref.f64(X, 4, 6).t();
            assertClose(Ref.f64(X, 4, 6).t().contiguous().toDoubleArray(), tt.reshape(24), 0, 0, "reshape copies when it must");
            assertThrows(IllegalArgumentException.class, () -> tt.view(24));
            assertEquals(12, Ref.f64(X, 2, 3, 4).view(2, 12).size(1));
            // writes through a view reach the base
            Tensor base = Ref.f64(X.clone(), 4, 6);
            base.narrow(0, 1, 2).narrow(1, 2, 2).fill_(-1);
            double[] v = base.toDoubleArray();
            assertEquals(-1, v[8]);
            assertEquals(-1, v[15]);
            assertEquals(7, v[7]);
        }
    }

    @BackendTest
    void opsOnStridedInputsMatchDenseInputs(TestDevice device) {
        device.activate();
        double[] a = data(21, 24, -2, 2), b = data(22, 48, -2, 2);
        try (Scope s = Scope.open()) {
            Tensor ta = Ref.f64(a, 4, 6).t();               // (6, 4), transposed
            Tensor tb = Ref.f64(b, 2, 4, 6).select(0, 1).t(); // (6, 4), offset + transposed
            Tensor dense = ta.contiguous().mul(tb.contiguous()).exp().sum(new int[] {0}, false);
            assertClose(dense.toDoubleArray(), ta.mul(tb).exp().sum(new int[] {0}, false), 1e-12, 1e-12, "strided elementwise + reduce");
            Tensor stepped = Ref.f64(a, 24).slice(0, 1, 24, 3);
            assertClose(new double[] {a[1], a[4], a[7], a[10], a[13], a[16], a[19], a[22]}, stepped.mul(1.0), 0, 0, "step slice");
            assertClose(ta.contiguous().matmul(tb.contiguous().t()).toDoubleArray(), ta.matmul(tb.t()), 1e-12, 1e-12, "matmul of strided operands");
        }
        GradCheck.check("permute/narrow/reshape chain", t -> t.permute(1, 0).narrow(0, 1, 3).reshape(-1).mul(t.reshape(-1).narrow(0, 0, 12)), a, 4, 6);
        GradCheck.check("expand", t -> t.expand(3, 2, 4).exp(), data(23, 8, -1, 1), 2, 4);
        GradCheck.check("slice step", t -> t.slice(1, 0, 6, 2).square(), a, 4, 6);
        GradCheck.check("select/unsqueeze/squeeze", t -> t.select(1, 2).unsqueeze(0).squeeze(0).sin(), a, 4, 6);
    }

    @BackendTest
    void catStackSplitChunk(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor a = Ref.f64(new double[] {1, 2, 3, 4}, 2, 2), b = Ref.f64(new double[] {5, 6}, 1, 2);
            assertClose(new double[] {1, 2, 3, 4, 5, 6}, Tensor.cat(List.of(a, b), 0), 0, 0, "cat dim 0");
            assertClose(new double[] {1, 2, 1, 3, 4, 3}, Tensor.cat(List.of(a, a.narrow(1, 0, 1)), 1), 0, 0, "cat dim 1");
            Tensor st = Tensor.stack(List.of(a, a.mul(10.0)), 1);
            assertShape(st, 2, 2, 2);
            assertClose(new double[] {1, 2, 10, 20, 3, 4, 30, 40}, st, 0, 0, "stack");
            List<Tensor> parts = Ref.f64(X, 24).split(10, 0);
            assertEquals(3, parts.size());
            assertShape(parts.get(2), 4);
            assertClose(new double[] {20, 21, 22, 23}, parts.get(2), 0, 0, "split remainder");
            List<Tensor> chunks = Ref.f64(X, 2, 12).chunk(5, 1);
            assertEquals(4, chunks.size(), "chunk sizes are ceil(12/5)=3");
            assertShape(chunks.get(0), 2, 3);
            assertThrows(IllegalArgumentException.class, () -> Tensor.cat(List.of(a, Ref.f64(new double[] {1, 2, 3}, 1, 3)), 0));
        }
        double[] x = data(24, 6, -1, 1), y = data(25, 4, -1, 1);
        GradCheck.check("cat", xs -> Tensor.cat(List.of(xs[0], xs[1].square()), 0), new double[][] {x, y}, new int[][] {{3, 2}, {2, 2}});
        GradCheck.check("stack", xs -> Tensor.stack(List.of(xs[0], xs[1].exp()), 2), new double[][] {y, y.clone()}, new int[][] {{2, 2}, {2, 2}});
        GradCheck.check("split", t -> t.split(2, 1).get(1).mul(t.chunk(3, 1).get(0)), x, 2, 3);
    }

    @BackendTest
    void edgeShapes(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor scalar = Tensor.scalar(3);
            assertEquals(0, scalar.dim());
            assertEquals(1, scalar.numel());
            assertEquals(9.0, scalar.mul(scalar).item());
            assertEquals(3.0, scalar.sum().item());
            assertShape(scalar.reshape(1, 1), 1, 1);
            assertShape(scalar.add(Tensor.ones(2, 3)), 2, 3);
            Tensor empty = Tensor.zeros(0, 3);
            assertEquals(0, empty.numel());
            assertShape(empty.exp(), 0, 3);
            assertShape(empty.sum(new int[] {0}, false), 3);
            assertClose(new double[] {0, 0, 0}, empty.sum(new int[] {0}, false), 0, 0, "sum over an empty dimension is 0");
            assertShape(empty.add(Tensor.ones(1, 3)), 0, 3);
            assertShape(Tensor.cat(List.of(empty, Tensor.ones(2, 3)), 0), 2, 3);
            assertShape(empty.matmul(Tensor.ones(3, 4)), 0, 4);
            assertClose(new double[] {0, 0, 0, 0}, Tensor.zeros(2, 0).matmul(Tensor.zeros(0, 2)), 0, 0, "k = 0 gives zeros");
            assertClose(new double[] {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY},
                    empty.amax(new int[] {0}, false), 0, 0, "float max over an empty dimension is -inf");
            assertThrows(IllegalArgumentException.class, () -> empty.to(DType.INT64).amax(new int[] {0}, false));
            Tensor ones = Tensor.ones(1, 4, 1);
            assertShape(ones.squeeze(), 4);
            assertShape(ones.squeeze(0), 4, 1);
            assertShape(ones.sum(new int[] {2}, false), 1, 4);
            assertTrue(Tensor.ones(3, 1).expand(3, 5).strides()[1] == 0);
        }
        GradCheck.check("scalar", t -> t.mul(t).exp(), new double[] {0.3});
        GradCheck.check("size-1 broadcast", xs -> xs[0].mul(xs[1]), new double[][] {{1.5}, data(26, 6, -1, 1)}, new int[][] {{1, 1}, {2, 3}});
    }
}
