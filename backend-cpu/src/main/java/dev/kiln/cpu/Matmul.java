package dev.kiln.cpu;

import dev.kiln.DType;
import dev.kiln.backend.View;

import java.lang.foreign.MemorySegment;

import static dev.kiln.cpu.Strided.getD;
import static dev.kiln.cpu.Strided.setD;

/** Batched matrix product over strided views: each batch's operands are gathered into dense arrays first. */
final class Matmul {
    private Matmul() {}

    static void run(View a, View b, View out) {
        int r = out.rank();
        int m = out.shape()[r - 2], n = out.shape()[r - 1], k = a.shape()[r - 1];
        int[] batchShape = java.util.Arrays.copyOf(out.shape(), r - 2);
        long batches = View.numel(batchShape);
        MemorySegment as = Strided.seg(a), bs = Strided.seg(b), os = Strided.seg(out);
        DType t = out.dtype();
        long[] sa = a.strides(), sb = b.strides(), so = out.strides();
        double[] am = new double[m * k], bm = new double[k * n], cm = new double[m * n];
        for (long bi = 0; bi < batches; bi++) {
            long oa = a.offset(), ob = b.offset(), oo = out.offset();
            long rem = bi;
            for (int d = batchShape.length - 1; d >= 0; d--) {
                long i = rem % batchShape[d];
                rem /= batchShape[d];
                oa += i * sa[d];
                ob += i * sb[d];
                oo += i * so[d];
            }
            for (int i = 0; i < m; i++)
                for (int p = 0; p < k; p++) am[i * k + p] = getD(as, t, oa + i * sa[r - 2] + p * sa[r - 1]);
            for (int p = 0; p < k; p++)
                for (int j = 0; j < n; j++) bm[p * n + j] = getD(bs, t, ob + p * sb[r - 2] + j * sb[r - 1]);
            java.util.Arrays.fill(cm, 0);
            for (int i = 0; i < m; i++)
                for (int p = 0; p < k; p++) {
                    double av = am[i * k + p];
                    int crow = i * n, brow = p * n;
                    for (int j = 0; j < n; j++) cm[crow + j] += av * bm[brow + j];
                }
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) setD(os, t, oo + i * so[r - 2] + j * so[r - 1], cm[i * n + j]);
        }
    }
}
