package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.backend.ArgReduceOp;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import org.jocl.cl_mem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.kiln.opencl.Devices.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** reduce, argReduce and softmax against host loops, over strided inputs and keep-dim outputs. */
class ReductionTest {

    /** Host reduction of a dense (d0, d1, d2) array over the axes flagged, keep-dim, row-major. */
    private static double[] hostReduce(ReduceOp op, double[] x, int[] shape, boolean[] reduced) {
        int[] outShape = shape.clone();
        for (int d = 0; d < 3; d++) if (reduced[d]) outShape[d] = 1;
        double[] out = new double[outShape[0] * outShape[1] * outShape[2]];
        double init = switch (op) {
            case SUM -> 0;
            case PROD -> 1;
            case MAX -> Double.NEGATIVE_INFINITY;
            case MIN -> Double.POSITIVE_INFINITY;
        };
        java.util.Arrays.fill(out, init);
        for (int i = 0; i < shape[0]; i++)
            for (int j = 0; j < shape[1]; j++)
                for (int k = 0; k < shape[2]; k++) {
                    int o = ((reduced[0] ? 0 : i) * outShape[1] + (reduced[1] ? 0 : j)) * outShape[2] + (reduced[2] ? 0 : k);
                    double v = x[(i * shape[1] + j) * shape[2] + k];
                    out[o] = switch (op) {
                        case SUM -> out[o] + v;
                        case PROD -> out[o] * v;
                        case MAX -> Math.max(out[o], v);
                        case MIN -> Math.min(out[o], v);
                    };
                }
        return out;
    }

    @ParameterizedTest
    @EnumSource(ReduceOp.class)
    void reducesEverySubsetOfAxes(ReduceOp op) {
        KernelBackend<cl_mem> be = backendOrSkip();
        // The last dimension is long enough (300) to take the work-group path when it is reduced.
        int[] shape = {3, 5, 300};
        double[] x = data(3 * 5 * 300, 1, 7);
        if (op == ReduceOp.PROD) for (int i = 0; i < x.length; i++) x[i] = 1 + x[i] / 100;
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            double[] xt = x.clone();
            if (t == DType.FLOAT32) for (int i = 0; i < xt.length; i++) xt[i] = (float) xt[i];
            View in = upload(be, t, xt, shape);
            for (int mask = 0; mask < 8; mask++) {
                boolean[] reduced = {(mask & 1) != 0, (mask & 2) != 0, (mask & 4) != 0};
                int[] axes = java.util.stream.IntStream.range(0, 3).filter(d -> reduced[d]).toArray();
                int[] outShape = shape.clone();
                for (int a : axes) outShape[a] = 1;
                View out = be.allocateView(t, outShape);
                be.reduce(op, in, axes, out);
                assertClose(hostReduce(op, xt, shape, reduced), download(be, out), t == DType.FLOAT32 ? 2e-5 : 1e-12,
                        op + " " + t + " axes " + java.util.Arrays.toString(axes));
                be.release(out.buffer());
            }
            be.release(in.buffer());
        }
    }

    @Test
    void reducesATransposedIntegerView() {
        KernelBackend<cl_mem> be = backendOrSkip();
        View x = upload(be, DType.INT64, new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
        View xt = x.withShape(new int[] {3, 2}, new long[] {1, 3}, 0);
        View out = be.allocateView(DType.INT64, 3, 1);
        be.reduce(ReduceOp.SUM, xt, new int[] {1}, out);
        assertArrayEquals(new double[] {5, 7, 9}, download(be, out));
        be.reduce(ReduceOp.MAX, xt, new int[] {1}, out);
        assertArrayEquals(new double[] {4, 5, 6}, download(be, out));
    }

    @Test
    void maxPropagatesNaNAndEmptySumIsZero() {
        KernelBackend<cl_mem> be = backendOrSkip();
        View x = upload(be, DType.FLOAT32, new double[] {1, Double.NaN, 3}, 3);
        View out = be.allocateView(DType.FLOAT32, 1);
        be.reduce(ReduceOp.MAX, x, new int[] {0}, out);
        assertTrue(Double.isNaN(download(be, out)[0]));
        View empty = be.allocateView(DType.FLOAT32, 2, 0);
        View sums = be.allocateView(DType.FLOAT32, 2, 1);
        be.reduce(ReduceOp.SUM, empty, new int[] {1}, sums);
        assertArrayEquals(new double[] {0, 0}, download(be, sums));
        be.reduce(ReduceOp.PROD, empty, new int[] {1}, sums);
        assertArrayEquals(new double[] {1, 1}, download(be, sums));
    }

    @Test
    void argReduceTakesTheFirstExtremeAndNaNWins() {
        KernelBackend<cl_mem> be = backendOrSkip();
        View x = upload(be, DType.FLOAT32, new double[] {1, 5, 5, 0, 2, 0, Double.NaN, 9}, 2, 4);
        View out = be.allocateView(DType.INT64, 2, 1);
        be.argReduce(ArgReduceOp.ARGMAX, x, 1, out);
        assertArrayEquals(new double[] {1, 2}, download(be, out));
        be.argReduce(ArgReduceOp.ARGMIN, x, 1, out);
        assertArrayEquals(new double[] {3, 2}, download(be, out));
        View cols = be.allocateView(DType.INT64, 1, 4);
        be.argReduce(ArgReduceOp.ARGMIN, x, 0, cols);
        assertArrayEquals(new double[] {0, 1, 1, 0}, download(be, cols));
        View ints = upload(be, DType.INT32, new double[] {3, 7, 7, -1}, 4);
        View one = be.allocateView(DType.INT64, 1);
        be.argReduce(ArgReduceOp.ARGMAX, ints, 0, one);
        assertArrayEquals(new double[] {1}, download(be, one));
    }

    @Test
    void softmaxAndLogSoftmaxAlongEitherAxis() {
        KernelBackend<cl_mem> be = backendOrSkip();
        int rows = 4, cols = 1000;
        double[] x = data(rows * cols, 20, 3);
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            View in = upload(be, t, x, rows, cols);
            for (int axis = 0; axis < 2; axis++) {
                for (boolean log : new boolean[] {false, true}) {
                    View out = be.allocateView(t, rows, cols);
                    be.softmax(in, axis, log, out);
                    assertClose(hostSoftmax(x, rows, cols, axis, log, t), download(be, out), t == DType.FLOAT32 ? 1e-5 : 1e-12,
                            "softmax " + t + " axis " + axis + " log " + log);
                    be.release(out.buffer());
                }
            }
        }
    }

    private static double[] hostSoftmax(double[] x, int rows, int cols, int axis, boolean log, DType t) {
        double[] v = x.clone();
        if (t == DType.FLOAT32) for (int i = 0; i < v.length; i++) v[i] = (float) v[i];
        double[] out = new double[v.length];
        int outer = axis == 1 ? rows : cols, len = axis == 1 ? cols : rows;
        for (int o = 0; o < outer; o++) {
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int j = 0; j < len; j++) m = Math.max(m, v[axis == 1 ? o * cols + j : j * cols + o]);
            for (int j = 0; j < len; j++) s += Math.exp(v[axis == 1 ? o * cols + j : j * cols + o] - m);
            for (int j = 0; j < len; j++) {
                int i = axis == 1 ? o * cols + j : j * cols + o;
                out[i] = log ? v[i] - m - Math.log(s) : Math.exp(v[i] - m) / s;
            }
        }
        return out;
    }
}
