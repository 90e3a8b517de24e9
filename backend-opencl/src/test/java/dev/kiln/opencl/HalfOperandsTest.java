package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import org.jocl.cl_mem;
import org.junit.jupiter.api.Test;

import java.util.function.Function;

import static dev.kiln.opencl.Devices.*;

/**
 * Half-type operands handed to the kernel backend's matmul and convolution entry points (as a backend that says it
 * computes them receives them, and as the kernel backend serves them when its runtime's library declines): with no
 * vendor library here, they are widened to float32, computed by the float32 kernels and rounded once, so each result
 * is the float32 result of the same (half-valued) operands to within the half type's unit roundoff.
 */
class HalfOperandsTest {

    /** Runs {@code op} on operands of {@code half} and of float32 with the same values; compares the two results. */
    private static void check(KernelBackend<cl_mem> be, String what, double[][] operands, int[][] shapes, int[] outShape,
                              Function<View[], Runnable> op) {
        for (DType half : new DType[] {DType.FLOAT16, DType.BFLOAT16}) {
            View[] h = new View[operands.length + 1], f = new View[operands.length + 1];
            for (int i = 0; i < operands.length; i++) {
                h[i] = upload(be, half, operands[i], shapes[i]);
                f[i] = upload(be, DType.FLOAT32, download(be, h[i]), shapes[i]);
            }
            h[operands.length] = be.allocateView(half, outShape);
            f[operands.length] = be.allocateView(DType.FLOAT32, outShape);
            op.apply(h).run();
            op.apply(f).run();
            double u = half == DType.FLOAT16 ? 0x1p-11 : 0x1p-8;
            double[] expected = download(be, f[operands.length]), actual = download(be, h[operands.length]);
            for (int i = 0; i < expected.length; i++)
                if (!(Math.abs(actual[i] - expected[i]) <= u * Math.abs(expected[i]) + 1e-30))
                    throw new AssertionError(what + " " + half + " element " + i + ": " + actual[i] + " vs float32 " + expected[i]);
            for (View v : h) be.release(v.buffer());
            for (View v : f) be.release(v.buffer());
        }
    }

    @Test
    void matmulWidensHalfOperands() {
        KernelBackend<cl_mem> be = backendOrSkip();
        int batch = 2, m = 5, k = 33, n = 7;
        check(be, "matmul", new double[][] {data(batch * m * k, 2, 81), data(k * n, 2, 82)}, new int[][] {{batch, m, k}, {k, n}},
                new int[] {batch, m, n}, v -> () -> be.matmul(v[0], v[1].withShape(new int[] {batch, k, n}, new long[] {0, n, 1}, 0), v[2]));
    }

    @Test
    void convolutionAndItsGradientsWidenHalfOperands() {
        KernelBackend<cl_mem> be = backendOrSkip();
        int n = 2, c = 4, h = 6, w = 5, cout = 6, kh = 3, kw = 3;
        Conv2dSpec spec = new Conv2dSpec(1, 1, 1, 1, 1, 1, 2);
        int[] xs = {n, c, h, w}, ws = {cout, c / 2, kh, kw}, ys = {n, cout, spec.outH(h, kh), spec.outW(w, kw)};
        double[] x = data(n * c * h * w, 1, 83), wt = data(cout * c / 2 * kh * kw, 1, 84), gy = data(ys[0] * ys[1] * ys[2] * ys[3], 1, 85);
        check(be, "conv2d", new double[][] {x, wt}, new int[][] {xs, ws}, ys, v -> () -> be.conv2d(v[0], v[1], spec, v[2]));
        check(be, "conv2dBackwardInput", new double[][] {gy, wt}, new int[][] {ys, ws}, xs,
                v -> () -> be.conv2dBackwardInput(v[0], v[1], spec, v[2]));
        check(be, "conv2dBackwardWeight", new double[][] {x, gy}, new int[][] {xs, ys}, ws,
                v -> () -> be.conv2dBackwardWeight(v[0], v[1], spec, v[2]));
    }
}
