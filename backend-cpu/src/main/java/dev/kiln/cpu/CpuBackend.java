package dev.kiln.cpu;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.backend.ArgReduceOp;
import dev.kiln.backend.AttentionSpec;
import dev.kiln.backend.Backend;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.Buffer;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.FusedProgram;
import dev.kiln.backend.MemoryStats;
import dev.kiln.backend.Pool2dSpec;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;
import dev.kiln.cpu.fused.Convolution;
import dev.kiln.cpu.fused.LayerNorm;
import dev.kiln.cpu.fused.LstmCell;
import dev.kiln.cpu.fused.MaxPool;
import dev.kiln.cpu.fused.Softmax;
import dev.kiln.cpu.fused.TiledAttention;
import dev.kiln.cpu.gemm.Gemm;
import dev.kiln.cpu.simd.VectorKernels;
import dev.kiln.random.Philox;

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
 * The pure-Java backend. Kernels run synchronously on the calling thread (or its pool); this class holds the
 * general strided kernels for every dtype, which define the semantics the other backends reproduce.
 */
public final class CpuBackend implements Backend {
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private final SegmentCache memory = new SegmentCache();

    /** A backend with an empty allocator cache; the device probe makes one per process through {@link CpuProvider}. */
    public CpuBackend() {}

    static String describeMachine() {
        return "pure Java, " + Runtime.getRuntime().availableProcessors() + " cores, "
                + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit vectors";
    }

    @Override
    public Device device() { return Device.CPU; }

    @Override
    public String description() { return describeMachine(); }

    // ---- memory and transfers ------------------------------------------------------------------------------

    @Override
    public Buffer allocate(long bytes) { return memory.allocate(bytes); }

    @Override
    public void release(Buffer buffer) { memory.release((CpuBuffer) buffer); }

    @Override
    public MemoryStats memoryStats() { return new MemoryStats(memory.liveBytes(), memory.cachedBytes(), memory.peakBytes()); }

    @Override
    public void emptyCache() { memory.trim(); }

    @Override
    public void copyFromHost(MemorySegment src, Buffer dst, long dstByteOffset) {
        MemorySegment.copy(src, 0, ((CpuBuffer) dst).segment(), dstByteOffset, src.byteSize());
    }

    @Override
    public void copyToHost(Buffer src, long srcByteOffset, MemorySegment dst) {
        MemorySegment.copy(((CpuBuffer) src).segment(), srcByteOffset, dst, 0, dst.byteSize());
    }

    @Override
    public void copy(View src, View dst) {
        // An empty view's offset may lie past its buffer's end (a slice at the end of an empty axis): nothing to touch.
        if (dst.numel() == 0) return;
        MemorySegment s = seg(src), d = seg(dst);
        DType st = src.dtype(), dt = dst.dtype();
        long ss = innerStride(src), ds = innerStride(dst);
        if (st == dt && src.isContiguous() && dst.isContiguous()) {
            MemorySegment.copy(s, src.offset() * st.byteSize(), d, dst.offset() * dt.byteSize(), src.numel() * st.byteSize());
            return;
        }
        if (st == dt) {
            copySameType(s, ss, d, ds, st.byteSize(), src, dst);
            return;
        }
        if (dst.numel() >= VECTOR_MIN_ELEMENTS && VectorKernels.convert(src, s, dst, d)) return;
        boolean viaLong = integral(st) && integral(dt);
        Strided.rows(dst.shape(), src, dst, null, (o0, o1, o2, n) -> {
            for (int i = 0; i < n; i++) {
                if (viaLong) setL(d, dt, o1 + i * ds, getL(s, st, o0 + i * ss));
                else if (dt == DType.BOOL) setL(d, dt, o1 + i * ds, getD(s, st, o0 + i * ss) != 0 ? 1 : 0);
                else if (integral(dt)) setL(d, dt, o1 + i * ds, (long) getD(s, st, o0 + i * ss));
                else setD(d, dt, o1 + i * ds, getD(s, st, o0 + i * ss));
            }
        });
    }

    /** A strided copy without conversion moves raw elements: rows of stride 1 as block copies, others by width. */
    private static void copySameType(MemorySegment s, long ss, MemorySegment d, long ds, int width, View src, View dst) {
        Strided.rows(dst.shape(), src, dst, null, (o0, o1, o2, n) -> {
            if (ss == 1 && ds == 1) {
                MemorySegment.copy(s, o0 * width, d, o1 * width, (long) n * width);
                return;
            }
            switch (width) {
                case 8 -> {
                    for (int i = 0; i < n; i++) d.setAtIndex(LONG, o1 + i * ds, s.getAtIndex(LONG, o0 + i * ss));
                }
                case 4 -> {
                    for (int i = 0; i < n; i++) d.setAtIndex(INT, o1 + i * ds, s.getAtIndex(INT, o0 + i * ss));
                }
                case 2 -> {
                    for (int i = 0; i < n; i++) d.setAtIndex(SHORT, o1 + i * ds, s.getAtIndex(SHORT, o0 + i * ss));
                }
                default -> {
                    for (int i = 0; i < n; i++) d.set(ValueLayout.JAVA_BYTE, o1 + i * ds, s.get(ValueLayout.JAVA_BYTE, o0 + i * ss));
                }
            }
        });
    }

    @Override
    public void fill(View dst, double value) {
        MemorySegment d = seg(dst);
        DType dt = dst.dtype();
        if (dst.isContiguous()) {
            fillDense(d.asSlice(dst.offset() * dt.byteSize(), dst.numel() * dt.byteSize()), dt, value);
            return;
        }
        long ds = innerStride(dst);
        Strided.rows(dst.shape(), dst, null, null, (o0, o1, o2, n) -> {
            for (int i = 0; i < n; i++) setD(d, dt, o0 + i * ds, value);
        });
    }

    /**
     * Fills dense memory with one value: all-zero bytes (the zeroed gradients and pooling buffers of every step) with
     * a native fill, any other value by writing one element and doubling the written prefix with block copies.
     */
    private static void fillDense(MemorySegment d, DType dt, double value) {
        long width = dt.byteSize(), bytes = d.byteSize();
        if (bytes == 0) return;
        setD(d, dt, 0, value);
        boolean zeroBits = switch ((int) width) {
            case 1 -> d.get(ValueLayout.JAVA_BYTE, 0) == 0;
            case 2 -> d.get(SHORT, 0) == 0;
            case 4 -> d.get(INT, 0) == 0;
            default -> d.get(LONG, 0) == 0;
        };
        if (zeroBits) {
            d.fill((byte) 0);
            return;
        }
        for (long done = width; done < bytes; done *= 2) MemorySegment.copy(d, 0, d, done, Math.min(done, bytes - done));
    }

    // ---- elementwise ---------------------------------------------------------------------------------------

    /**
     * Tensors this small skip the vector paths: for a few elements their setup (row patterns, masks, splitting
     * into tasks) costs more than the scalar loop, and per-op overhead is what dominates there.
     */
    private static final long VECTOR_MIN_ELEMENTS = 8;

    private static boolean vectorWorthIt(View v) { return v.numel() >= VECTOR_MIN_ELEMENTS; }

    @Override
    public void unary(UnaryOp op, double alpha, View x, View out) {
        if (vectorWorthIt(out) && VectorKernels.unary(op, alpha, x, seg(x), out, seg(out))) return;
        MemorySegment xs = seg(x), os = seg(out);
        DType xt = x.dtype(), ot = out.dtype();
        long sx = innerStride(x), so = innerStride(out);
        boolean viaLong = integral(xt) && op != UnaryOp.IS_NAN;
        Strided.rows(out.shape(), x, out, null, (o0, o1, o2, n) -> {
            for (int i = 0; i < n; i++) {
                if (viaLong) setL(os, ot, o1 + i * so, ScalarMath.unaryLong(op, getL(xs, xt, o0 + i * sx)));
                else setD(os, ot, o1 + i * so, ScalarMath.unary(op, getD(xs, xt, o0 + i * sx), alpha));
            }
        });
    }

    @Override
    public void binary(BinaryOp op, View a, View b, View out) {
        if (vectorWorthIt(out) && VectorKernels.binary(op, a, seg(a), b, seg(b), out, seg(out))) return;
        MemorySegment as = seg(a), bs = seg(b), os = seg(out);
        DType t = a.dtype(), ot = out.dtype();
        long sa = innerStride(a), sb = innerStride(b), so = innerStride(out);
        boolean viaLong = integral(t);
        Strided.rows(out.shape(), a, b, out, (o0, o1, o2, n) -> {
            for (int i = 0; i < n; i++) {
                if (viaLong) setL(os, ot, o2 + i * so, ScalarMath.binaryLong(op, getL(as, t, o0 + i * sa), getL(bs, t, o1 + i * sb)));
                else setD(os, ot, o2 + i * so, ScalarMath.binary(op, getD(as, t, o0 + i * sa), getD(bs, t, o1 + i * sb)));
            }
        });
    }

    @Override
    public void binaryScalar(BinaryOp op, View a, double scalar, boolean scalarFirst, View out) {
        if (vectorWorthIt(out) && VectorKernels.binaryScalar(op, a, seg(a), scalar, scalarFirst, out, seg(out))) return;
        MemorySegment as = seg(a), os = seg(out);
        DType t = a.dtype(), ot = out.dtype();
        long sa = innerStride(a), so = innerStride(out);
        boolean viaLong = integral(t) && scalar == Math.rint(scalar);
        long ls = (long) scalar;
        Strided.rows(out.shape(), a, out, null, (o0, o1, o2, n) -> {
            for (int i = 0; i < n; i++) {
                if (viaLong) {
                    long v = getL(as, t, o0 + i * sa);
                    setL(os, ot, o1 + i * so, scalarFirst ? ScalarMath.binaryLong(op, ls, v) : ScalarMath.binaryLong(op, v, ls));
                } else {
                    double v = getD(as, t, o0 + i * sa);
                    setD(os, ot, o1 + i * so, scalarFirst ? ScalarMath.binary(op, scalar, v) : ScalarMath.binary(op, v, scalar));
                }
            }
        });
    }

    @Override
    public void where(View cond, View a, View b, View out) {
        MemorySegment cs = seg(cond), as = seg(a), bs = seg(b), os = seg(out);
        DType t = out.dtype();
        long sc = innerStride(cond), sa = innerStride(a), sb = innerStride(b), so = innerStride(out);
        // Four operands: walk cond and out together and find a, b by linear index through their own strides.
        Strided.rows(out.shape(), cond, out, null, new Strided.RowVisitor() {
            long linear = 0;

            @Override
            public void row(long o0, long o1, long o2, int n) {
                long abase = offsetOf(a, linear), bbase = offsetOf(b, linear);
                for (int i = 0; i < n; i++) {
                    boolean c = cs.get(java.lang.foreign.ValueLayout.JAVA_BYTE, o0 + i * sc) != 0;
                    if (integral(t)) setL(os, t, o1 + i * so, c ? getL(as, t, abase + i * sa) : getL(bs, t, bbase + i * sb));
                    else setD(os, t, o1 + i * so, c ? getD(as, t, abase + i * sa) : getD(bs, t, bbase + i * sb));
                }
                linear += n;
            }
        });
    }

    /** Element offset of row-major linear index {@code linear} in a view. */
    static long offsetOf(View v, long linear) {
        int[] shape = v.shape();
        long[] st = v.strides();
        long off = v.offset();
        for (int d = shape.length - 1; d >= 0; d--) {
            int size = shape[d];
            if (size == 0) return off;
            off += (linear % size) * st[d];
            linear /= size;
        }
        return off;
    }

    // ---- reductions ----------------------------------------------------------------------------------------

    @Override
    public void reduce(ReduceOp op, View x, int[] axes, View out) {
        if (vectorWorthIt(x) && VectorKernels.reduce(op, x, seg(x), axes, out, seg(out))) return;
        MemorySegment xs = seg(x), os = seg(out);
        DType xt = x.dtype(), ot = out.dtype();
        int r = x.rank();
        int[] redShape = new int[axes.length];
        long[] redStrides = new long[axes.length];
        long[] keptStrides = x.strides().clone();
        for (int i = 0; i < axes.length; i++) {
            redShape[i] = x.shape()[axes[i]];
            redStrides[i] = x.strides()[axes[i]];
            keptStrides[axes[i]] = 0;
        }
        View kept = x.withShape(out.shape(), keptStrides, x.offset());
        long so = innerStride(out), sk = r == 0 ? 0 : keptStrides[r - 1];
        boolean viaLong = integral(xt);
        Strided.rows(out.shape(), kept, out, null, (o0, o1, o2, n) -> {
            for (int i = 0; i < n; i++) {
                View slice = new View(x.buffer(), xt, redShape, redStrides, o0 + i * sk);
                if (viaLong) setL(os, ot, o1 + i * so, reduceLong(op, xs, xt, slice));
                else setD(os, ot, o1 + i * so, reduceDouble(op, xs, xt, slice));
            }
        });
    }

    private static double reduceDouble(ReduceOp op, MemorySegment xs, DType t, View slice) {
        double[] acc = {op == ReduceOp.SUM ? 0 : op == ReduceOp.PROD ? 1 : op == ReduceOp.MAX ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY};
        long s = innerStride(slice);
        Strided.rows(slice.shape(), slice, null, null, (o0, o1, o2, n) -> {
            double a = acc[0];
            for (int i = 0; i < n; i++) {
                double v = getD(xs, t, o0 + i * s);
                a = switch (op) {
                    case SUM -> a + v;
                    case PROD -> a * v;
                    case MAX -> Double.isNaN(v) || v > a ? v : a;
                    case MIN -> Double.isNaN(v) || v < a ? v : a;
                };
                if (Double.isNaN(a) && (op == ReduceOp.MAX || op == ReduceOp.MIN)) break;
            }
            acc[0] = a;
        });
        return acc[0];
    }

    private static long reduceLong(ReduceOp op, MemorySegment xs, DType t, View slice) {
        long[] acc = {op == ReduceOp.SUM ? 0 : op == ReduceOp.PROD ? 1 : op == ReduceOp.MAX ? Long.MIN_VALUE : Long.MAX_VALUE};
        long s = innerStride(slice);
        Strided.rows(slice.shape(), slice, null, null, (o0, o1, o2, n) -> {
            long a = acc[0];
            for (int i = 0; i < n; i++) {
                long v = getL(xs, t, o0 + i * s);
                a = switch (op) {
                    case SUM -> a + v;
                    case PROD -> a * v;
                    case MAX -> Math.max(a, v);
                    case MIN -> Math.min(a, v);
                };
            }
            acc[0] = a;
        });
        return acc[0];
    }

    @Override
    public void sort(View x, int axis, boolean descending, View values, View indices) {
        Sorting.sort(x, axis, descending, values, indices);
    }

    @Override
    public void argReduce(ArgReduceOp op, View x, int axis, View out) {
        MemorySegment xs = seg(x), os = seg(out);
        DType t = x.dtype();
        int len = x.shape()[axis];
        long step = x.strides()[axis];
        long[] keptStrides = x.strides().clone();
        keptStrides[axis] = 0;
        View kept = x.withShape(out.shape(), keptStrides, x.offset());
        long so = innerStride(out), sk = keptStrides[x.rank() - 1];
        boolean max = op == ArgReduceOp.ARGMAX;
        Strided.rows(out.shape(), kept, out, null, (o0, o1, o2, n) -> {
            for (int i = 0; i < n; i++) {
                long base = o0 + i * sk;
                long best = 0;
                double bv = getD(xs, t, base);
                for (int j = 1; j < len && !Double.isNaN(bv); j++) {
                    double v = getD(xs, t, base + j * step);
                    if (Double.isNaN(v) || (max ? v > bv : v < bv)) {
                        bv = v;
                        best = j;
                    }
                }
                setL(os, DType.INT64, o1 + i * so, best);
            }
        });
    }

    // ---- matmul --------------------------------------------------------------------------------------------

    @Override
    public void matmul(View a, View b, View out) {
        if (out.dtype() == DType.FLOAT32 || out.dtype() == DType.FLOAT64) Gemm.matmul(a, seg(a), b, seg(b), out, seg(out));
        else Matmul.run(a, b, out);
    }

    // ---- fused kernels: dedicated loops for float32/float64, the composed defaults for everything else -------

    @Override
    public void softmax(View x, int axis, boolean log, View out) {
        if (Softmax.handles(x, axis, out)) Softmax.forward(x, seg(x), log, out, seg(out));
        else Backend.super.softmax(x, axis, log, out);
    }

    @Override
    public void layerNorm(View x, int normalizedDims, View weight, View bias, double eps, View out, View mean, View invStd) {
        if (LayerNorm.handles(x, out, mean, invStd)) LayerNorm.forward(this, Strided::seg, x, normalizedDims, weight, bias, eps, out, mean, invStd);
        else Backend.super.layerNorm(x, normalizedDims, weight, bias, eps, out, mean, invStd);
    }

    @Override
    public void layerNormBackward(View gradOut, View x, int normalizedDims, View weight, View mean, View invStd,
                                  View gradInput, View gradWeight, View gradBias) {
        if (LayerNorm.handles(x, mean, invStd, gradInput, gradWeight, gradBias))
            LayerNorm.backward(this, Strided::seg, gradOut, x, normalizedDims, weight, mean, invStd, gradInput, gradWeight, gradBias);
        else Backend.super.layerNormBackward(gradOut, x, normalizedDims, weight, mean, invStd, gradInput, gradWeight, gradBias);
    }

    @Override
    public void attention(View query, View key, View value, View bias, AttentionSpec spec, View out, View logSumExp) {
        if (TiledAttention.handles(query, key, value, bias, out, logSumExp))
            TiledAttention.forward(Strided::seg, query, key, value, bias, spec, out, logSumExp);
        else Backend.super.attention(query, key, value, bias, spec, out, logSumExp);
    }

    @Override
    public void attentionBackward(View gradOut, View query, View key, View value, View bias, AttentionSpec spec, View out,
                                  View logSumExp, View gradQuery, View gradKey, View gradValue) {
        if (TiledAttention.handles(gradOut, query, key, value, bias, out, logSumExp, gradQuery, gradKey, gradValue))
            TiledAttention.backward(Strided::seg, gradOut, query, key, value, bias, spec, out, logSumExp, gradQuery, gradKey, gradValue);
        else Backend.super.attentionBackward(gradOut, query, key, value, bias, spec, out, logSumExp, gradQuery, gradKey, gradValue);
    }

    @Override
    public void fused(FusedProgram program, double[] scalars, View[] inputs, View[] outputs) {
        FusedKernel.run(program, scalars, inputs, outputs);
    }

    @Override
    public void fusedForEach(FusedProgram program, java.util.List<double[]> scalars, java.util.List<View[]> inputs,
                             java.util.List<View[]> outputs) {
        FusedKernel.runEach(program, scalars, inputs, outputs);
    }

    @Override
    public void lstmCell(View input, View recurrent, View cell, View gates, View cellOut, View tanhCell, View hiddenOut) {
        if (LstmCell.handles(input, recurrent, cell, gates, cellOut, tanhCell, hiddenOut))
            LstmCell.forward(Strided::seg, input, recurrent, cell, gates, cellOut, tanhCell, hiddenOut);
        else Backend.super.lstmCell(input, recurrent, cell, gates, cellOut, tanhCell, hiddenOut);
    }

    @Override
    public void lstmSequence(View input, View inputWeightT, View bias, View h0, View c0, View recurrentT, boolean reverse, View gates,
                             View cells, View tanhCells, View hidden) {
        if (LstmCell.handlesSequence(input, inputWeightT, recurrentT, bias, h0, c0, gates, cells, tanhCells, hidden))
            LstmCell.sequence(Strided::seg, input, inputWeightT, bias, h0, c0, recurrentT, reverse, gates, cells, tanhCells, hidden);
        else Backend.super.lstmSequence(input, inputWeightT, bias, h0, c0, recurrentT, reverse, gates, cells, tanhCells, hidden);
    }

    @Override
    public void lstmSequenceBackward(View gradOutput, View gradCell, View gates, View c0, View cells, View tanhCells, View recurrentT,
                                     boolean reverse, View gradGates, View gradH0, View gradC0) {
        if (LstmCell.handlesSequenceBackward(recurrentT, gradCell, c0, gradH0, gradC0, gradOutput, gates, cells, tanhCells, gradGates))
            LstmCell.sequenceBackward(Strided::seg, gradOutput, gradCell, gates, c0, cells, tanhCells, recurrentT, reverse, gradGates, gradH0, gradC0);
        else Backend.super.lstmSequenceBackward(gradOutput, gradCell, gates, c0, cells, tanhCells, recurrentT, reverse, gradGates, gradH0, gradC0);
    }

    @Override
    public void lstmCellBackward(View gradHidden, View gradCell, View gates, View cell, View tanhCell, View gradGates, View gradCellIn) {
        if (LstmCell.handles(gradHidden, gradCell, gates, cell, tanhCell, gradGates, gradCellIn))
            LstmCell.backward(Strided::seg, gradHidden, gradCell, gates, cell, tanhCell, gradGates, gradCellIn);
        else Backend.super.lstmCellBackward(gradHidden, gradCell, gates, cell, tanhCell, gradGates, gradCellIn);
    }

    @Override
    public void conv2d(View input, View weight, Conv2dSpec spec, View out) {
        if (Convolution.handles(input, weight, out)) Convolution.forward(input, seg(input), weight, seg(weight), spec, out, seg(out));
        else Backend.super.conv2d(input, weight, spec, out);
    }

    @Override
    public void conv2dBackwardInput(View gradOut, View weight, Conv2dSpec spec, View gradInput) {
        if (Convolution.handles(gradOut, gradOut, weight, gradInput))
            Convolution.backwardInput(gradOut, seg(gradOut), weight, seg(weight), spec, gradInput, seg(gradInput));
        else Backend.super.conv2dBackwardInput(gradOut, weight, spec, gradInput);
    }

    @Override
    public void conv2dBackwardWeight(View input, View gradOut, Conv2dSpec spec, View gradWeight) {
        if (Convolution.handles(input, gradOut, gradWeight))
            Convolution.backwardWeight(input, seg(input), gradOut, seg(gradOut), spec, gradWeight, seg(gradWeight));
        else Backend.super.conv2dBackwardWeight(input, gradOut, spec, gradWeight);
    }

    @Override
    public void maxPool2d(View input, Pool2dSpec spec, View out, View indices) {
        if (MaxPool.handles(input)) MaxPool.forward(input, seg(input), spec, out, seg(out), indices, seg(indices));
        else Backend.super.maxPool2d(input, spec, out, indices);
    }

    // ---- indexing ------------------------------------------------------------------------------------------

    @Override
    public void gather(View src, int axis, View index, View out) {
        Indexing.gather(src, axis, index, out);
    }

    @Override
    public void scatterAdd(View dst, int axis, View index, View src) {
        Indexing.scatterAdd(dst, axis, index, src);
    }

    @Override
    public void indexSelect(View src, int axis, View index, View out) {
        Indexing.gather(src, axis, Indexing.alongAxis(index, axis, out.shape()), out);
    }

    @Override
    public void indexAdd(View dst, int axis, View index, View src) {
        Indexing.scatterAdd(dst, axis, Indexing.alongAxis(index, axis, src.shape()), src);
    }

    /** Immediate: kernels here run on the calling thread, so the scan is as early as the check can be. */
    @Override
    public void checkIndex(String op, View index, long bound) {
        MemorySegment s = seg(index);
        DType t = index.dtype();
        long si = innerStride(index);
        Strided.rows(index.shape(), index, null, null, (o0, o1, o2, n) -> {
            for (int i = 0; i < n; i++) {
                long v = getL(s, t, o0 + i * si);
                if (v < 0 || v >= bound) throw Backend.indexOutOfBounds(op, v, bound);
            }
        });
    }

    @Override
    public void arange(double start, double step, View out) {
        MemorySegment os = seg(out);
        DType t = out.dtype();
        long so = innerStride(out);
        Strided.rows(out.shape(), out, null, null, new Strided.RowVisitor() {
            long i;

            @Override
            public void row(long o0, long o1, long o2, int n) {
                for (int k = 0; k < n; k++) setD(os, t, o0 + k * so, start + (i++) * step);
            }
        });
    }

    // ---- random --------------------------------------------------------------------------------------------

    @Override
    public void random(Distribution dist, double a, double b, long seed, long offset, View out) {
        MemorySegment os = seg(out);
        DType t = out.dtype();
        long so = innerStride(out);
        Strided.rows(out.shape(), out, null, null, new Strided.RowVisitor() {
            long counter = offset;

            @Override
            public void row(long o0, long o1, long o2, int n) {
                for (int i = 0; i < n; i++) setD(os, t, o0 + i * so, Philox.sample(dist, a, b, seed, counter++));
            }
        });
    }
}
