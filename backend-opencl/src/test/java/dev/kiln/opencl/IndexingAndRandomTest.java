package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import dev.kiln.random.Philox;
import org.jocl.cl_mem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.kiln.opencl.Devices.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** gather, scatterAdd, indexSelect, indexAdd with int32 and int64 indices, and Philox random numbers. */
class IndexingAndRandomTest {

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"INT32", "INT64"})
    void gatherAndScatterAddAlongEachAxis(DType indexType) {
        KernelBackend<cl_mem> be = backendOrSkip();
        View src = upload(be, DType.FLOAT32, new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
        View idx = upload(be, indexType, new double[] {2, 0, 1, 1}, 2, 2);
        View out = be.allocateView(DType.FLOAT32, 2, 2);
        be.gather(src, 1, idx, out);
        assertArrayEquals(new double[] {3, 1, 5, 5}, download(be, out));
        View rows = upload(be, indexType, new double[] {1, 0, 0}, 1, 3);
        View out0 = be.allocateView(DType.FLOAT32, 1, 3);
        be.gather(src, 0, rows, out0);
        assertArrayEquals(new double[] {4, 2, 3}, download(be, out0));

        View dst = upload(be, DType.FLOAT32, new double[6], 2, 3);
        be.scatterAdd(dst, 1, idx, upload(be, DType.FLOAT32, new double[] {10, 20, 30, 40}, 2, 2));
        // Row 1 sends both of its values to column 1: duplicates accumulate.
        assertArrayEquals(new double[] {20, 0, 10, 0, 70, 0}, download(be, dst));
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"INT32", "INT64"})
    void indexSelectAndIndexAddWithRepeats(DType indexType) {
        KernelBackend<cl_mem> be = backendOrSkip();
        View src = upload(be, DType.FLOAT64, new double[] {1, 2, 3, 4, 5, 6}, 3, 2);
        View idx = upload(be, indexType, new double[] {2, 0, 2, 1}, 4);
        View out = be.allocateView(DType.FLOAT64, 4, 2);
        be.indexSelect(src, 0, idx, out);
        assertArrayEquals(new double[] {5, 6, 1, 2, 5, 6, 3, 4}, download(be, out));
        View cols = be.allocateView(DType.FLOAT64, 3, 1);
        be.indexSelect(src, 1, upload(be, indexType, new double[] {1}, 1), cols);
        assertArrayEquals(new double[] {2, 4, 6}, download(be, cols));

        View dst = upload(be, DType.FLOAT64, new double[6], 3, 2);
        be.indexAdd(dst, 0, idx, upload(be, DType.FLOAT64, new double[] {1, 1, 2, 2, 3, 3, 4, 4}, 4, 2));
        assertArrayEquals(new double[] {2, 2, 4, 4, 4, 4}, download(be, dst));
    }

    @ParameterizedTest
    @EnumSource(Distribution.class)
    void randomReproducesTheHostPhilox(Distribution dist) {
        KernelBackend<cl_mem> be = backendOrSkip();
        double a = dist == Distribution.BERNOULLI ? 0.3 : dist == Distribution.INTEGER ? -5 : 0.5;
        double b = dist == Distribution.INTEGER ? 17 : 2;
        long seed = 0x1234_5678_9ABCL, offset = (1L << 32) - 100;
        int n = 1000;
        for (DType t : new DType[] {DType.FLOAT64, DType.FLOAT32, DType.INT64, DType.INT32, DType.BOOL}) {
            if (!t.isFloatingPoint() && (dist == Distribution.UNIFORM || dist == Distribution.NORMAL)) continue;
            View out = be.allocateView(t, 10, n / 10);
            be.random(dist, a, b, seed, offset, out);
            double[] expected = new double[n];
            for (int i = 0; i < n; i++) {
                double v = Philox.sample(dist, a, b, seed, offset + i);
                expected[i] = switch (t) {
                    case FLOAT32 -> (float) v;
                    case BOOL -> v != 0 ? 1 : 0;
                    case INT32, INT64 -> (long) v;
                    default -> v;
                };
            }
            // Uniform, Bernoulli and integer draws are exact; normal goes through log, sqrt and cos on the device.
            assertClose(expected, download(be, out), dist == Distribution.NORMAL ? 1e-13 : 0, dist + " " + t);
        }
    }
}
