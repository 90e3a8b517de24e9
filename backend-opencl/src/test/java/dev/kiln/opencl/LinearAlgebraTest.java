package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import org.jocl.cl_mem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.kiln.opencl.Devices.*;

/** matmul (both kernels: edges, batches, transposes) and conv2d through the default im2col path. */
class LinearAlgebraTest {
    @AfterAll
    static void closeVariant() { closeVariants(); }


    /**
     * (m, k, n): ragged edges for every block size; on CPU devices the rows per work-item follow m, so m runs
     * through one row (k = 1 too), a block of m rows (6, 11), just over one 12-row block (13: two of 7), two of 8
     * (16), a full pair (24), just past it (25) and a tall odd m (67); n straddles the 16-lane vector.
     */
    private static final int[][] MATMUL_SHAPES = {
            {1, 1, 1}, {1, 5, 17}, {3, 1, 16}, {6, 9, 33}, {11, 130, 15}, {13, 7, 31}, {16, 64, 45}, {24, 3, 48},
            {25, 300, 17}, {67, 130, 45}};

    @Test
    void matmulCoversTileEdgesTransposesAndBroadcastBatches() {
        KernelBackend<cl_mem> be = backendOrSkip();
        for (int[] s : MATMUL_SHAPES) checkMatmulCases(be, s[0], s[1], s[2]);
    }

    /** The local-memory kernel that GPUs get, run here on whatever device there is by calling it a GPU. */
    @Test
    void gpuMatmulKernelCoversTheSameCases() {
        KernelBackend<cl_mem> be = variant(Devices.Variant.AS_GPU);
        for (int[] s : MATMUL_SHAPES) checkMatmulCases(be, s[0], s[1], s[2]);
    }

    /**
     * A batch of a's against one b read transposed and broadcast with stride 0 (so the CPU kernel packs it), and a
     * transposed a written into a transposed out.
     */
    private static void checkMatmulCases(KernelBackend<cl_mem> be, int m, int k, int n) {
        int batch = 3;
        double[] a = data(batch * m * k, 1, 1), b = data(k * n, 1, 2);
        for (DType t : be.description().contains("fp64") ? new DType[] {DType.FLOAT32, DType.FLOAT64} : new DType[] {DType.FLOAT32}) {
            double tol = t == DType.FLOAT32 ? 1e-4 : 1e-12;
            View va = upload(be, t, a, batch, m, k);
            // b stored as (n, k) and read transposed, repeated over the batch with stride 0.
            double[] bStored = new double[n * k];
            for (int i = 0; i < k; i++) for (int j = 0; j < n; j++) bStored[j * k + i] = b[i * n + j];
            View vb = upload(be, t, bStored, n, k).withShape(new int[] {batch, k, n}, new long[] {0, 1, k}, 0);
            View out = be.allocateView(t, batch, m, n);
            be.matmul(va, vb, out);
            double[] expected = new double[batch * m * n];
            for (int z = 0; z < batch; z++)
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double s = 0;
                        for (int p = 0; p < k; p++) s += round(t, a[(z * m + i) * k + p]) * round(t, b[p * n + j]);
                        expected[(z * m + i) * n + j] = s;
                    }
            assertClose(expected, download(be, out), tol, "matmul " + t + " " + m + "x" + k + "x" + n);

            // a[0] read transposed as (k, m) times b' (m, k) dense, written to a (k, k) view stored column-major.
            View aT = va.withShape(new int[] {k, m}, new long[] {1, k}, 0);
            View bDense = upload(be, t, Arrays.copyOf(a, m * k), m, k);
            View outT = be.allocateView(t, k, k);
            be.matmul(aT, bDense, outT.withShape(new int[] {k, k}, new long[] {1, k}, 0));
            double[] expectedT = new double[k * k];
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    double s = 0;
                    for (int p = 0; p < m; p++) s += round(t, a[p * k + i]) * round(t, a[p * k + j]);
                    expectedT[j * k + i] = s;
                }
            assertClose(expectedT, download(be, outT), tol, "transposed matmul " + t + " " + m + "x" + k + "x" + n);
        }
    }

    @Test
    void matmulWithEmptyInnerDimensionWritesZeros() {
        KernelBackend<cl_mem> be = backendOrSkip();
        View a = be.allocateView(DType.FLOAT32, 2, 0), b = be.allocateView(DType.FLOAT32, 0, 3);
        View out = upload(be, DType.FLOAT32, new double[] {1, 1, 1, 1, 1, 1}, 2, 3);
        be.matmul(a, b, out);
        assertClose(new double[6], download(be, out), 0, "empty k");
    }

    private static double round(DType t, double v) { return t == DType.FLOAT32 ? (float) v : v; }

    @Test
    void conv2dMatchesADirectLoop() {
        KernelBackend<cl_mem> be = backendOrSkip();
        int n = 2, c = 4, h = 7, w = 6, cout = 6, kh = 3, kw = 2, groups = 2;
        Conv2dSpec spec = new Conv2dSpec(2, 1, 1, 1, 1, 2, groups);
        int oh = spec.outH(h, kh), ow = spec.outW(w, kw);
        double[] x = data(n * c * h * w, 1, 5), wt = data(cout * (c / groups) * kh * kw, 1, 6);
        View vx = upload(be, DType.FLOAT64, x, n, c, h, w), vw = upload(be, DType.FLOAT64, wt, cout, c / groups, kh, kw);
        View out = be.allocateView(DType.FLOAT64, n, cout, oh, ow);
        be.conv2d(vx, vw, spec, out);
        double[] expected = new double[n * cout * oh * ow];
        int cg = c / groups, coutG = cout / groups;
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cout; o++)
                for (int y = 0; y < oh; y++)
                    for (int xo = 0; xo < ow; xo++) {
                        double s = 0;
                        int g = o / coutG;
                        for (int ci = 0; ci < cg; ci++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++) {
                                    int iy = y * spec.strideH() - spec.padH() + i * spec.dilationH();
                                    int ix = xo * spec.strideW() - spec.padW() + j * spec.dilationW();
                                    if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                    s += x[((b * c + g * cg + ci) * h + iy) * w + ix] * wt[((o * cg + ci) * kh + i) * kw + j];
                                }
                        expected[((b * cout + o) * oh + y) * ow + xo] = s;
                    }
        assertClose(expected, download(be, out), 1e-12, "conv2d");
    }
}
