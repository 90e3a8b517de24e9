package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.Backend;
import dev.kiln.backend.View;

import java.lang.foreign.MemorySegment;

/** Moving test data between host arrays and float32/float64/int64 views. */
final class HostViews {
    private HostViews() {}

    static View upload(Backend be, DType t, double[] values, int... shape) {
        View v = be.allocateView(t, shape);
        be.copyFromHost(host(t, values), v.buffer(), 0);
        return v;
    }

    /** The same values, but held transposed in memory: a view whose last two strides are swapped. */
    static View uploadTransposed(Backend be, DType t, double[] values, int... shape) {
        int r = shape.length;
        int[] stored = shape.clone();
        stored[r - 2] = shape[r - 1];
        stored[r - 1] = shape[r - 2];
        View dense = upload(be, t, values, shape);
        View holder = be.allocateView(t, stored);
        long[] s = holder.strides().clone();
        long swap = s[r - 2];
        s[r - 2] = s[r - 1];
        s[r - 1] = swap;
        View transposed = holder.withShape(shape.clone(), s, 0);
        be.copy(dense, transposed);
        be.release(dense.buffer());
        return transposed;
    }

    static double[] download(Backend be, View v) {
        View dense = be.allocateView(v.dtype(), v.shape());
        be.copy(v, dense);
        int n = (int) v.numel();
        double[] out = new double[n];
        switch (v.dtype()) {
            case FLOAT32 -> {
                float[] f = new float[n];
                be.copyToHost(dense.buffer(), 0, MemorySegment.ofArray(f));
                for (int i = 0; i < n; i++) out[i] = f[i];
            }
            case FLOAT64 -> be.copyToHost(dense.buffer(), 0, MemorySegment.ofArray(out));
            case INT64 -> {
                long[] l = new long[n];
                be.copyToHost(dense.buffer(), 0, MemorySegment.ofArray(l));
                for (int i = 0; i < n; i++) out[i] = l[i];
            }
            default -> throw new IllegalArgumentException("download: no test support for " + v.dtype());
        }
        be.release(dense.buffer());
        return out;
    }

    private static MemorySegment host(DType t, double[] values) {
        return switch (t) {
            case FLOAT32 -> {
                float[] f = new float[values.length];
                for (int i = 0; i < f.length; i++) f[i] = (float) values[i];
                yield MemorySegment.ofArray(f);
            }
            case FLOAT64 -> MemorySegment.ofArray(values.clone());
            default -> throw new IllegalArgumentException("upload: no test support for " + t);
        };
    }
}
