package dev.kiln.cpu;

import dev.kiln.DType;
import dev.kiln.backend.View;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Comparator;

import static dev.kiln.cpu.Strided.getD;
import static dev.kiln.cpu.Strided.getL;
import static dev.kiln.cpu.Strided.innerStride;
import static dev.kiln.cpu.Strided.seg;
import static dev.kiln.cpu.Strided.setD;
import static dev.kiln.cpu.Strided.setL;

/**
 * A comparison sort per row (TimSort, stable), replacing the SPI's rank-counting default: O(n log n) instead of
 * O(n^2). Same contract: NaN above every number, ties in index order. Integers compare as longs, exactly.
 */
final class Sorting {
    private Sorting() {}

    static void sort(View x, int axis, boolean descending, View values, View indices) {
        MemorySegment xs = seg(x), vs = seg(values), is = seg(indices);
        DType t = x.dtype();
        boolean integral = Strided.integral(t);
        int len = x.shape()[axis];
        long step = x.strides()[axis], vStep = values.strides()[axis], iStep = indices.strides()[axis];
        int[] rowShape = x.shape().clone();
        rowShape[axis] = 1;
        View xRows = rowStarts(x, axis, rowShape), vRows = rowStarts(values, axis, rowShape), iRows = rowStarts(indices, axis, rowShape);
        long sx = innerStride(xRows), sv = innerStride(vRows), si = innerStride(iRows);
        Integer[] order = new Integer[len];
        double[] keys = integral ? null : new double[len];
        long[] longKeys = integral ? new long[len] : null;
        Comparator<Integer> ascending = integral ? Comparator.comparingLong(i -> longKeys[i])
                : (a, b) -> compareNanLast(keys[a], keys[b]);
        Comparator<Integer> cmp = descending ? ascending.reversed() : ascending;
        Strided.rows(rowShape, xRows, vRows, iRows, (ox, ov, oi, n) -> {
            for (int r = 0; r < n; r++) {
                long bx = ox + r * sx, bv = ov + r * sv, bi = oi + r * si;
                for (int j = 0; j < len; j++) {
                    order[j] = j;
                    if (integral) longKeys[j] = getL(xs, t, bx + j * step);
                    else keys[j] = getD(xs, t, bx + j * step);
                }
                Arrays.sort(order, cmp);
                for (int j = 0; j < len; j++) {
                    int src = order[j];
                    if (integral) setL(vs, t, bv + j * vStep, longKeys[src]);
                    else setD(vs, t, bv + j * vStep, keys[src]);
                    setL(is, DType.INT64, bi + j * iStep, src);
                }
            }
        });
    }

    /** Orders numbers as usual and NaN above all of them; -0.0 and 0.0 tie, as they compare equal. */
    private static int compareNanLast(double a, double b) {
        boolean na = Double.isNaN(a), nb = Double.isNaN(b);
        if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
        return a < b ? -1 : (a > b ? 1 : 0);
    }

    private static View rowStarts(View v, int axis, int[] rowShape) {
        long[] strides = v.strides().clone();
        strides[axis] = 0;
        return v.withShape(rowShape, strides, v.offset());
    }
}
