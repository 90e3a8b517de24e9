package dev.kiln.cpu;

import dev.kiln.DType;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.WorkerPool;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.kiln.cpu.Strided.getD;
import static dev.kiln.cpu.Strided.getL;
import static dev.kiln.cpu.Strided.innerStride;
import static dev.kiln.cpu.Strided.integral;
import static dev.kiln.cpu.Strided.seg;
import static dev.kiln.cpu.Strided.setD;
import static dev.kiln.cpu.Strided.setL;

/**
 * Gather and scatter-add. index_select and index_add are the same kernels with a 1-D index repeated (stride 0)
 * over every other dimension.
 */
final class Indexing {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED;

    private Indexing() {}

    /**
     * Float32 values with int64 indices (embeddings, cross-entropy, max pooling's gradient) take a typed loop: the
     * general one converts every element through {@link HostValues}' dtype switch, which made the scatter-add of
     * LeNet's pooling gradient 5% of its training step.
     */
    private static boolean floatsByLongs(DType values, DType index) {
        return values == DType.FLOAT32 && index == DType.INT64;
    }

    /** A 1-D index seen as a tensor of {@code shape} that varies only along {@code axis}. */
    static View alongAxis(View index, int axis, int[] shape) {
        long[] st = new long[shape.length];
        st[axis] = index.strides()[0];
        return index.withShape(shape, st, index.offset());
    }

    /** {@code v} over {@code shape} with the stride of {@code axis} zeroed: the base the index moves along. */
    private static View axisFree(View v, int axis, int[] shape) {
        long[] st = v.strides().clone();
        st[axis] = 0;
        return v.withShape(shape, st, v.offset());
    }

    static void gather(View src, int axis, View index, View out) {
        MemorySegment ss = seg(src), is = seg(index), os = seg(out);
        DType t = src.dtype(), it = index.dtype();
        long axisStride = src.strides()[axis];
        View base = axisFree(src, axis, out.shape());
        long sb = innerStride(base), si = innerStride(index), so = innerStride(out);
        if (floatsByLongs(t, it)) {
            Strided.rows(out.shape(), base, index, out, (o0, o1, o2, n) -> {
                for (int i = 0; i < n; i++)
                    os.setAtIndex(F32, o2 + i * so, ss.getAtIndex(F32, o0 + i * sb + is.getAtIndex(I64, o1 + i * si) * axisStride));
            });
            return;
        }
        Strided.rows(out.shape(), base, index, out, (o0, o1, o2, n) -> {
            for (int i = 0; i < n; i++) {
                long at = o0 + i * sb + getL(is, it, o1 + i * si) * axisStride;
                if (integral(t)) setL(os, t, o2 + i * so, getL(ss, t, at));
                else setD(os, t, o2 + i * so, getD(ss, t, at));
            }
        });
    }

    /** Elements from which a scatter along the last axis is split over the pool. */
    private static final long PARALLEL_ELEMENTS = 1L << 16;

    /** v's entries [from, from + shape[0]) along the first axis, with the rest of {@code shape}. */
    private static View leading(View v, int[] shape, int from) {
        return v.withShape(shape, v.strides(), v.offset() + from * v.strides()[0]);
    }

    static void scatterAdd(View dst, int axis, View index, View src) {
        MemorySegment ds = seg(dst), is = seg(index), ss = seg(src);
        DType t = dst.dtype(), it = index.dtype();
        long axisStride = dst.strides()[axis];
        View base = axisFree(dst, axis, index.shape());
        View srcWindow = src.withShape(index.shape(), src.strides(), src.offset());
        long sb = innerStride(base), si = innerStride(index), sv = innerStride(srcWindow);
        if (floatsByLongs(t, it)) {
            int[] shape = index.shape();
            // Along the last axis each row adds only into its own row of dst, so rows can run in parallel and every
            // element still sees its additions in index order (max pooling's gradient: a plane per row).
            int tasks = axis == shape.length - 1 && shape.length > 1 && index.numel() >= PARALLEL_ELEMENTS
                    ? Math.min(shape[0], 2 * WorkerPool.shared().parallelism()) : 1;
            int per = Math.ceilDiv(shape[0], tasks);
            WorkerPool.shared().run(Math.ceilDiv(shape[0], per), task -> {
                int from = task * per, count = Math.min(shape[0], from + per) - from;
                int[] part = shape.clone();
                part[0] = count;
                Strided.rows(part, leading(base, part, from), leading(index, part, from), leading(srcWindow, part, from), (o0, o1, o2, n) -> {
                    for (int i = 0; i < n; i++) {
                        long at = o0 + i * sb + is.getAtIndex(I64, o1 + i * si) * axisStride;
                        ds.setAtIndex(F32, at, ds.getAtIndex(F32, at) + ss.getAtIndex(F32, o2 + i * sv));
                    }
                });
            });
            return;
        }
        Strided.rows(index.shape(), base, index, srcWindow, (o0, o1, o2, n) -> {
            for (int i = 0; i < n; i++) {
                long at = o0 + i * sb + getL(is, it, o1 + i * si) * axisStride;
                if (integral(t)) setL(ds, t, at, getL(ds, t, at) + getL(ss, t, o2 + i * sv));
                else setD(ds, t, at, getD(ds, t, at) + getD(ss, t, o2 + i * sv));
            }
        });
    }
}
