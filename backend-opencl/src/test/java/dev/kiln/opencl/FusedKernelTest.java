package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.backend.Backend;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import org.jocl.cl_mem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.kiln.opencl.Devices.*;

/**
 * The device's fused kernels (conv2d and its gradients, softmax, layer norm) against the SPI's composed defaults
 * on the same device, on the cases the conformance kit does not reach: odd geometries, strided operands, rows
 * longer than a work-group and rows with a ragged vector tail, each on the CPU launch shapes and on the GPU ones.
 */
class FusedKernelTest {

    @AfterAll
    static void closeVariant() { closeVariants(); }

    private static java.util.List<KernelBackend<cl_mem>> both() {
        KernelBackend<cl_mem> be = backendOrSkip();
        return java.util.List.of(be, variant(Devices.Variant.AS_GPU));
    }

    /** A (d0, d1, d2, d3) tensor stored as (d0, d1, d3, d2) and seen through swapped strides: not contiguous. */
    private static View transposedPlanes(KernelBackend<cl_mem> be, double[] data, int... shape) {
        View stored = upload(be, DType.FLOAT64, data, shape[0], shape[1], shape[3], shape[2]);
        long[] s = stored.strides();
        return stored.withShape(shape, new long[] {s[0], s[1], s[3], s[2]}, 0);
    }

    @Test
    void convolutionPassesMatchTheComposedDefaultOnOddGeometries() {
        int n = 2, c = 6, h = 9, w = 7, cout = 9, kh = 3, kw = 2, groups = 3;
        Conv2dSpec spec = new Conv2dSpec(2, 1, 2, 1, 1, 2, groups);
        int oh = spec.outH(h, kh), ow = spec.outW(w, kw);
        for (KernelBackend<cl_mem> be : both()) {
            Backend ref = composed(be);
            View x = transposedPlanes(be, data(n * c * h * w, 1, 1), n, c, h, w);
            View wt = upload(be, DType.FLOAT64, data(cout * (c / groups) * kh * kw, 1, 2), cout, c / groups, kh, kw);
            View gradOut = transposedPlanes(be, data(n * cout * oh * ow, 1, 3), n, cout, oh, ow);
            String on = " on " + be.device() + (be == backendOrSkip() ? "" : " as a GPU");

            View out = transposedPlanes(be, new double[n * cout * oh * ow], n, cout, oh, ow), expected = be.allocateView(DType.FLOAT64, n, cout, oh, ow);
            be.conv2d(x, wt, spec, out);
            ref.conv2d(x, wt, spec, expected);
            assertClose(download(be, expected), download(be, out), 1e-12, "conv2d" + on);

            View gradIn = transposedPlanes(be, new double[n * c * h * w], n, c, h, w), expectedIn = be.allocateView(DType.FLOAT64, n, c, h, w);
            be.conv2dBackwardInput(gradOut, wt, spec, gradIn);
            ref.conv2dBackwardInput(gradOut, wt, spec, expectedIn);
            assertClose(download(be, expectedIn), download(be, gradIn), 1e-12, "conv2dBackwardInput" + on);

            View gradW = be.allocateView(DType.FLOAT64, cout, c / groups, kh, kw), expectedW = be.allocateView(DType.FLOAT64, cout, c / groups, kh, kw);
            be.conv2dBackwardWeight(x, gradOut, spec, gradW);
            ref.conv2dBackwardWeight(x, gradOut, spec, expectedW);
            assertClose(download(be, expectedW), download(be, gradW), 1e-12, "conv2dBackwardWeight" + on);
        }
    }

    @Test
    void softmaxOnAMiddleAxisAndOnRowsLongerThanAWorkGroup() {
        for (KernelBackend<cl_mem> be : both()) {
            Backend ref = composed(be);
            for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
                double tol = t == DType.FLOAT32 ? 1e-5 : 1e-12;
                // (2, 1031, 3) along axis 1: strided rows of 1031 (four work-groups of 256 and more); (2, 1031): dense rows with a ragged tail.
                for (int[] shape : new int[][] {{2, 1031, 3}, {2, 1031}}) {
                    View x = upload(be, t, data((int) View.numel(shape), 30, 4), shape);
                    for (boolean log : new boolean[] {false, true}) {
                        View out = be.allocateView(t, shape), expected = be.allocateView(t, shape);
                        be.softmax(x, 1, log, out);
                        ref.softmax(x, 1, log, expected);
                        assertClose(download(be, expected), download(be, out), tol,
                                (log ? "log-softmax " : "softmax ") + t + " " + Arrays.toString(shape) + " on " + be);
                    }
                }
            }
        }
    }

    @Test
    void layerNormAndItsGradientsWithAndWithoutAffineParameters() {
        int rows = 5, d1 = 3, d2 = 37;  // rows of 111: six 16-lane vectors and a tail of 15
        for (KernelBackend<cl_mem> be : both()) {
            Backend ref = composed(be);
            View x = upload(be, DType.FLOAT64, data(rows * d1 * d2, 3, 5), rows, d1, d2);
            View weight = upload(be, DType.FLOAT64, data(d1 * d2, 2, 6), d1, d2), bias = upload(be, DType.FLOAT64, data(d1 * d2, 2, 7), d1, d2);
            // gradOut repeated over the rows with stride 0, as the gradient of a sum over them arrives.
            View gradOut = upload(be, DType.FLOAT64, data(d1 * d2, 1, 8), d1, d2).withShape(new int[] {rows, d1, d2}, new long[] {0, d2, 1}, 0);
            for (boolean affine : new boolean[] {true, false}) {
                String what = (affine ? "affine" : "plain") + " layer norm on " + be;
                View w = affine ? weight : null, b = affine ? bias : null;
                View[] ours = layerNorm(be, be, x, w, b), theirs = layerNorm(be, ref, x, w, b);
                for (int i = 0; i < ours.length; i++) assertClose(download(be, theirs[i]), download(be, ours[i]), 1e-12, what + " output " + i);

                View mean = ours[1], invStd = ours[2];
                View[] gOurs = gradients(be, be, gradOut, x, w, mean, invStd, true), gTheirs = gradients(be, ref, gradOut, x, w, mean, invStd, true);
                for (int i = 0; i < gOurs.length; i++) assertClose(download(be, gTheirs[i]), download(be, gOurs[i]), 1e-12, what + " gradient " + i);
                View[] paramsOnly = gradients(be, be, gradOut, x, w, mean, invStd, false);
                assertClose(download(be, gTheirs[1]), download(be, paramsOnly[1]), 1e-12, what + " weight gradient alone");
                assertClose(download(be, gTheirs[2]), download(be, paramsOnly[2]), 1e-12, what + " bias gradient alone");
            }
        }
    }

    /** out, mean and invStd of layer norm over the last two axes, computed by {@code by}. */
    private static View[] layerNorm(KernelBackend<cl_mem> be, Backend by, View x, View weight, View bias) {
        int[] s = x.shape();
        View out = be.allocateView(DType.FLOAT64, s), mean = be.allocateView(DType.FLOAT64, s[0], 1, 1), invStd = be.allocateView(DType.FLOAT64, s[0], 1, 1);
        by.layerNorm(x, 2, weight, bias, 1e-5, out, mean, invStd);
        return new View[] {out, mean, invStd};
    }

    /** gradInput (unless not wanted: then x's shape of zeros), gradWeight and gradBias, computed by {@code by}. */
    private static View[] gradients(KernelBackend<cl_mem> be, Backend by, View gradOut, View x, View weight, View mean, View invStd, boolean wantInput) {
        int[] s = x.shape();
        View gi = be.allocateView(DType.FLOAT64, s), gw = be.allocateView(DType.FLOAT64, s[1], s[2]), gb = be.allocateView(DType.FLOAT64, s[1], s[2]);
        be.fill(gi, 0);
        by.layerNormBackward(gradOut, x, 2, weight, mean, invStd, wantInput ? gi : null, gw, gb);
        return new View[] {gi, gw, gb};
    }

    @Test
    void rowAndColumnReductionsInVectorsMatchTheHostAndKeepNaN() {
        KernelBackend<cl_mem> be = backendOrSkip();
        int rows = 3, cols = 37;  // two 16-lane vectors and a tail of 5, both ways
        double[] x = data(rows * cols, 2, 9);
        x[cols + 4] = Double.NaN;  // inside the first vector of row 1, and in column 4
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            View in = upload(be, t, x, rows, cols), inT = upload(be, t, x, rows, cols);
            for (ReduceOp op : ReduceOp.values()) {
                for (int axis = 0; axis < 2; axis++) {
                    int[] outShape = axis == 1 ? new int[] {rows, 1} : new int[] {1, cols};
                    View out = be.allocateView(t, outShape);
                    be.reduce(op, axis == 1 ? in : inT, new int[] {axis}, out);
                    double[] expected = new double[axis == 1 ? rows : cols];
                    for (int o = 0; o < expected.length; o++) {
                        double acc = op == ReduceOp.SUM ? 0 : op == ReduceOp.PROD ? 1
                                : op == ReduceOp.MAX ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
                        for (int j = 0; j < (axis == 1 ? cols : rows); j++) {
                            double v = x[axis == 1 ? o * cols + j : j * cols + o];
                            if (t == DType.FLOAT32) v = (float) v;
                            acc = switch (op) {
                                case SUM -> acc + v;
                                case PROD -> acc * v;
                                case MAX -> Double.isNaN(acc) || Double.isNaN(v) ? Double.NaN : Math.max(acc, v);
                                case MIN -> Double.isNaN(acc) || Double.isNaN(v) ? Double.NaN : Math.min(acc, v);
                            };
                        }
                        expected[o] = acc;
                    }
                    assertClose(expected, download(be, out), t == DType.FLOAT32 ? 1e-5 : 1e-12, op + " " + t + " axis " + axis);
                }
            }
        }
    }

    @Test
    void vectorUnaryAndBinaryKernelsMatchTheStridedOnes() {
        KernelBackend<cl_mem> be = backendOrSkip();
        int n = 37;  // two 16-lane vectors and a tail of 5
        double[] x = data(2 * n, 3, 10);
        x[2 * 3] = Double.NaN;
        for (DType t : new DType[] {DType.FLOAT32, DType.FLOAT64}) {
            View stored = upload(be, t, x, 2 * n);
            View dense = be.allocateView(t, n), everyOther = stored.withShape(new int[] {n}, new long[] {2}, 0);
            be.copy(everyOther, dense);
            for (UnaryOp op : new UnaryOp[] {UnaryOp.EXP, UnaryOp.LOG,
                    UnaryOp.TANH, UnaryOp.ERF, UnaryOp.ABS, UnaryOp.ROUND}) {
                View vectorOut = be.allocateView(t, n), stridedOut = be.allocateView(t, n);
                be.unary(op, 0, dense, vectorOut);
                be.unary(op, 0, everyOther, stridedOut);
                assertClose(download(be, stridedOut), download(be, vectorOut), t == DType.FLOAT32 ? 1e-6 : 1e-14, op + " " + t);
            }
            View dense2 = be.allocateView(t, n), odd = stored.withShape(new int[] {n}, new long[] {2}, 1);
            be.copy(odd, dense2);
            for (BinaryOp op : new BinaryOp[] {BinaryOp.ADD, BinaryOp.SUB,
                    BinaryOp.MUL, BinaryOp.DIV}) {
                View vectorOut = be.allocateView(t, n), stridedOut = be.allocateView(t, n);
                be.binary(op, dense, dense2, vectorOut);
                be.binary(op, everyOther, odd, stridedOut);
                assertClose(download(be, stridedOut), download(be, vectorOut), 0, op + " " + t);
                for (boolean scalarFirst : new boolean[] {false, true}) {
                    be.binaryScalar(op, dense, 1.5, scalarFirst, vectorOut);
                    be.binaryScalar(op, everyOther, 1.5, scalarFirst, stridedOut);
                    assertClose(download(be, stridedOut), download(be, vectorOut), 0, op + " scalar " + (scalarFirst ? "first " : "second ") + t);
                }
            }
        }
    }
}
