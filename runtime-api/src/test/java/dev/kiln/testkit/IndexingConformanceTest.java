package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.backend.Backend;

import static dev.kiln.testkit.ErrorConformanceTest.assertMessage;
import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** gather, index_select, scatter_add, one_hot and embedding, with gradients and bounds checks. */
class IndexingConformanceTest {

    @BackendTest
    void gatherAndScatterAdd(TestDevice device) {
        device.activate();
        double[] x = {1, 2, 3, 4, 5, 6};
        try (Scope s = Scope.open()) {
            Tensor t = Ref.f64(x, 2, 3);
            Tensor idx = Tensor.of(new long[] {2, 0, 1, 1}, 2, 2);
            assertClose(new double[] {3, 1, 5, 5}, t.gather(1, idx), 0, 0, "gather dim 1");
            Tensor idx0 = Tensor.of(new long[] {1, 0, 1}, 1, 3);
            assertClose(new double[] {4, 2, 6}, t.gather(0, idx0), 0, 0, "gather dim 0");
            Tensor base = Tensor.zeros(DType.FLOAT64, null, 2, 3);
            Tensor src = Ref.f64(new double[] {10, 20, 30, 40}, 2, 2);
            assertClose(new double[] {20, 0, 10, 0, 70, 0}, base.scatterAdd(1, Tensor.of(new long[] {2, 0, 1, 1}, 2, 2), src), 0, 0,
                    "scatter_add accumulates duplicate indices");
            // Along the last axis, large enough for a backend to split it (max pooling's gradient has this shape).
            int rows = 40 * 3, width = 64, per = 600;
            double[] values = data(36, rows * per, -1, 1), where = data(37, rows * per, 0, 1), expected = new double[rows * width];
            long[] at = new long[rows * per];
            for (int i = 0; i < at.length; i++) {
                at[i] = (long) Math.floor(where[i] * width) % width;
                expected[(i / per) * width + (int) at[i]] += values[i];
            }
            Tensor sums = Tensor.zeros(DType.FLOAT32, null, 40, 3, width)
                    .scatterAdd(2, Tensor.of(at, 40, 3, per), Ref.f64(values, 40, 3, per).to(DType.FLOAT32));
            assertClose(expected, sums, 1e-5, 1e-4, "scatter_add along the last axis, 72,000 float32 values");
            assertMessage(IndexOutOfBoundsException.class, () -> t.gather(1, Tensor.of(new long[] {3, 0}, 1, 2)).toDoubleArray(), "gather", "index 3", "size 3");
            assertMessage(IndexOutOfBoundsException.class, () -> t.gather(1, Tensor.of(new long[] {-1, 0}, 1, 2)).toDoubleArray(), "gather", "index -1", "size 3");
            assertThrows(IllegalArgumentException.class, () -> t.gather(1, Tensor.of(new float[] {0, 1}, 1, 2)));
        }
        long[] idx = {2, 0, 1, 1, 0, 0};
        GradCheck.check("gather", t -> t.gather(1, Tensor.of(idx, 2, 3)), data(31, 6, -1, 1), 2, 3);
        GradCheck.check("scatter_add", xs -> xs[0].scatterAdd(1, Tensor.of(new long[] {2, 0, 2, 1}, 2, 2), xs[1]),
                new double[][] {data(32, 6, -1, 1), data(33, 4, -1, 1)}, new int[][] {{2, 3}, {2, 2}});
    }

    @BackendTest
    void indexSelectOneHotEmbedding(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor t = Ref.f64(new double[] {1, 2, 3, 4, 5, 6}, 3, 2);
            assertClose(new double[] {5, 6, 1, 2, 5, 6}, t.indexSelect(0, Tensor.of(new long[] {2, 0, 2}, 3)), 0, 0, "index_select rows");
            assertClose(new double[] {2, 4, 6}, t.indexSelect(1, Tensor.of(new int[] {1}, 1)), 0, 0, "index_select cols, int32 index");
            Tensor oh = Tensor.of(new long[] {0, 2, 1}, 3).oneHot(3);
            assertTrue(oh.dtype() == DType.INT64);
            assertArrayEquals(new long[] {1, 0, 0, 0, 0, 1, 0, 1, 0}, oh.toLongArray());
            assertMessage(IndexOutOfBoundsException.class, () -> Tensor.of(new long[] {3}, 1).oneHot(3).toLongArray(), "one_hot", "index 3", "size 3");
            Tensor w = Ref.f64(new double[] {0, 0, 1, 1, 2, 2, 3, 3}, 4, 2);
            Tensor e = Functional.embedding(Tensor.of(new long[] {3, 1, 1, 0}, 2, 2), w);
            assertShape(e, 2, 2, 2);
            assertClose(new double[] {3, 3, 1, 1, 1, 1, 0, 0}, e, 0, 0, "embedding");
        }
        GradCheck.check("index_select", t -> t.indexSelect(0, Tensor.of(new long[] {2, 0, 2}, 3)), data(34, 6, -1, 1), 3, 2);
        GradCheck.check("embedding", w -> Functional.embedding(Tensor.of(new long[] {3, 1, 1, 0}, 2, 2), w), data(35, 8, -1, 1), 4, 2);
    }

    /**
     * The SPI's bounds check: the op, the offending value and the bound in an IndexOutOfBoundsException at the latest
     * at the next synchronisation point; int32 and int64, strided and 0-D indices; values in range pass.
     */
    @BackendTest
    void checkIndexReportsTheOpTheValueAndTheBound(TestDevice device) {
        Backend be = device.activate();
        try (Scope s = Scope.open()) {
            Tensor strided = Tensor.of(new long[] {0, 2, 7, 1}, 2, 2).t();
            assertMessage(IndexOutOfBoundsException.class, () -> {
                be.checkIndex("probe", strided.view(), 5);
                be.synchronize();
            }, "probe", "index 7", "size 5");
            assertMessage(IndexOutOfBoundsException.class, () -> {
                be.checkIndex("probe", Tensor.of(new int[] {1, -3, 0}, 3).view(), 4);
                be.synchronize();
            }, "probe", "index -3", "size 4");
            assertMessage(IndexOutOfBoundsException.class, () -> {
                be.checkIndex("probe", Tensor.scalar(4, DType.INT64, null).view(), 4);
                be.synchronize();
            }, "probe", "index 4", "size 4");
            be.checkIndex("probe", strided.view(), 8);
            be.checkIndex("probe", Tensor.of(new int[] {0, 3}, 2).view(), 4);
            be.synchronize();
            assertArrayEquals(new long[] {0, 7, 2, 1}, strided.contiguous().toLongArray(), "a passing check leaves the index alone");
        }
    }
}
