package dev.kiln.kernel;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.backend.ArgReduceOp;
import dev.kiln.backend.Backend;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.Buffer;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.HalfDefaults;
import dev.kiln.backend.FusedProgram;
import dev.kiln.backend.MemoryStats;
import dev.kiln.backend.Pool2dSpec;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import dev.kiln.backend.View;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * The Kiln backend on one device that runs the kernels module's sources, whatever its API: this class chooses the
 * kernel, its build defines and its launch shape for every entry point, coalesces strides, checks arguments and
 * pools memory; a {@link KernelRuntime} (OpenCL, CUDA) allocates, copies, compiles and launches. Kernels go to the
 * runtime's in-order stream without waiting; the host waits only in {@link #copyToHost} and {@link #synchronize},
 * which also check that the work before them ran (the runtime's execution status, the device-side index checks).
 * Calls, releases included, are serialised by this object's monitor.
 *
 * @param <M> the runtime's raw allocation handle
 */
public final class KernelBackend<M> implements Backend {
    private static final int GEMM_THREADS = 256;

    private final KernelRuntime<M> runtime;
    private final DeviceInfo info;
    private final Device device;
    private final MemoryPool<M> pool;
    /** Kernels by family, defines and entry point: one map lookup per launch once built. */
    private final Map<String, KernelRuntime.Kernel<M>> kernels = new HashMap<>();
    private final Map<String, KernelRuntime.Program<M>> programs = new HashMap<>();
    private final IndexErrorWord indexErrors;
    private final KernelConvolution<M> convolution = new KernelConvolution<>(this);
    private final FusedKernels<M> fusedKernels;
    private boolean closed;

    /**
     * A backend over a device API's runtime; it owns the runtime from now on and closes it with itself.
     *
     * @param runtime the device's memory, compiler and launches
     */
    public KernelBackend(KernelRuntime<M> runtime) {
        this.runtime = runtime;
        this.info = runtime.device();
        this.device = info.device();
        this.pool = new MemoryPool<>(runtime);
        this.indexErrors = new IndexErrorWord(this);
        this.fusedKernels = new FusedKernels<>(this, runtime, info.fp64());
    }

    /** One generated kernel per fused program ({@link FusedKernels}); the composed default for what it leaves. */
    @Override
    public synchronized void fused(FusedProgram program, double[] scalars, View[] inputs, View[] outputs) {
        if (!fusedKernels.run(program, scalars, inputs, outputs)) Backend.super.fused(program, scalars, inputs, outputs);
    }

    @Override
    public Device device() { return device; }

    /**
     * The runtime under this backend. Public for measurements that issue reference work (CLBlast, the driver's
     * buffer copy) beside Kiln's on the same stream; such work must not touch buffers Kiln still uses.
     *
     * @return the runtime
     */
    public KernelRuntime<M> runtime() { return runtime; }

    /**
     * The raw allocation behind a buffer of this backend (for the same measurements).
     *
     * @param b a buffer of this backend
     * @return its raw allocation
     */
    public synchronized M memory(Buffer b) { return buf(b).memory; }

    @Override
    public String description() { return info.description(); }

    // ---- memory, transfers and lifetime ---------------------------------------------------------------------

    @Override
    public synchronized Buffer allocate(long bytes) {
        checkOpen();
        return pool.allocate(bytes);
    }

    /**
     * Takes the backend's lock, so that a release from another thread (the tensors' Cleaner) is ordered with the
     * launches: it cannot fall between a launch's buffer checks and its enqueue, and the pool then hands the memory
     * only to work issued after every kernel that may still read it (the in-order stream's reuse rule, see
     * {@link MemoryPool}). When the runtime is debugging, the memory is filled with NaN first, so that a kernel that
     * never ran leaves NaN in its output instead of the previous owner's numbers. A release after {@link #close}
     * does nothing: the device memory went with the backend.
     */
    @Override
    public synchronized void release(Buffer buffer) {
        if (closed) return;
        DeviceBuffer<M> b = owned(buffer);
        if (runtime.debugging() && !b.isReleased())
            fill(View.contiguous(b, DType.INT32, (int) (b.capacity / 256), 64), POISON);
        pool.release(b);
    }

    /** The float32 quiet NaN; as pairs it is a float64 NaN too, and integer tensors show 2143289344. */
    private static final int POISON = 0x7FC00000;

    @Override
    public synchronized MemoryStats memoryStats() {
        checkOpen();
        return pool.stats();
    }

    @Override
    public synchronized void emptyCache() {
        checkOpen();
        pool.emptyCache();
    }

    @Override
    public synchronized void copyFromHost(MemorySegment src, Buffer dst, long dstByteOffset) {
        DeviceBuffer<M> d = buf(dst);
        checkRange("copyFromHost", d, dstByteOffset, src.byteSize());
        runtime.copyFromHost(src, d.memory, dstByteOffset);
    }

    @Override
    public synchronized void copyToHost(Buffer src, long srcByteOffset, MemorySegment dst) {
        DeviceBuffer<M> s = buf(src);
        checkRange("copyToHost", s, srcByteOffset, dst.byteSize());
        if (dst.isReadOnly()) throw new IllegalArgumentException("copyToHost: the destination host memory is read-only");
        runtime.copyToHost(s.memory, srcByteOffset, dst);
        indexErrors.examine(this);
    }

    @Override
    public synchronized void synchronize() {
        checkOpen();
        runtime.synchronize();
        indexErrors.examine(this);
    }

    /**
     * On the device, without waiting: a violation is recorded in the backend's error word and thrown at the next
     * {@link #copyToHost} or {@link #synchronize} ({@link IndexErrorWord}).
     */
    @Override
    public synchronized void checkIndex(String op, View index, long bound) {
        long n = index.numel();
        if (n == 0) return;
        DType t = index.dtype();
        if (t != DType.INT32 && t != DType.INT64)
            throw new IllegalArgumentException(op + ": index must be int64 or int32, got " + t + " on " + device);
        int id = indexErrors.issue(op, bound, this);
        Strided g = Strided.coalesce("checkIndex", index);
        launch("index", KernelTypes.defines("T", t) + KernelTypes.indexDefines(t), "check_index_" + t)
                .i32(g.rank()).longs(g.shape()).i64(n).operand(buf(index.buffer()), g.strides(0), index.offset())
                .i64(bound).i32(id).mem(buf(indexErrors.word().buffer())).run1d(n);
    }

    /**
     * Waits for the issued work (a failure of it throws here, after the backend is closed all the same), frees the
     * pool's cache and closes the runtime (its programs, stream and context); buffers still live go with the
     * context. Idempotent; afterwards every entry point but {@link #release} throws {@link IllegalStateException}.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        try {
            runtime.synchronize();
        } finally {
            try {
                pool.emptyCache();
            } finally {
                kernels.clear();
                programs.clear();
                fusedKernels.clear();
                runtime.close();
            }
        }
    }

    @Override
    public synchronized void copy(View src, View dst) {
        long n = dst.numel();
        if (n == 0) return;
        DType from = src.dtype(), to = dst.dtype();
        if (from == to) {
            DeviceBuffer<M> s = buf(src.buffer()), d = buf(dst.buffer());
            long es = from.byteSize();
            if (src.isContiguous() && dst.isContiguous() && s != d) {
                runtime.copy(s.memory, src.offset() * es, d.memory, dst.offset() * es, n * es);
                return;
            }
            Strided g = Strided.coalesce("copy", src, dst);
            launch("copy", KernelTypes.bitsDefines(from), "copy_bits" + 8 * es)
                    .i32(g.rank()).longs(g.shape()).i64(n)
                    .operand(s, g.strides(0), src.offset()).operand(d, g.strides(1), dst.offset()).run1d(n);
            return;
        }
        if ((from == DType.FLOAT64 || to == DType.FLOAT64) && !info.fp64())
            throw noFp64("copy " + from + " to " + to);
        Strided g = Strided.coalesce("copy", src, dst);
        launch("copy", KernelTypes.defines("S", from) + KernelTypes.defines("D", to), "cast_" + from + "_" + to)
                .i32(g.rank()).longs(g.shape()).i64(n)
                .operand(buf(src.buffer()), g.strides(0), src.offset()).operand(buf(dst.buffer()), g.strides(1), dst.offset())
                .run1d(n);
    }

    @Override
    public synchronized void fill(View dst, double value) {
        long n = dst.numel();
        if (n == 0) return;
        int es = dst.dtype().byteSize();
        Strided g = Strided.coalesce("fill", dst);
        launch("copy", KernelTypes.bitsDefines(dst.dtype()), "fill_bits" + 8 * es)
                .i32(g.rank()).longs(g.shape()).i64(n).bits(es, bitsOf(dst.dtype(), value))
                .operand(buf(dst.buffer()), g.strides(0), dst.offset()).run1d(n);
    }

    /**
     * The bit pattern {@code value} has in {@code dtype}, converted as {@link #copy} converts.
     *
     * @param dtype the element type
     * @param value the value
     * @return its bits, in the low bits of the long
     */

    public static long bitsOf(DType dtype, double value) {
        return switch (dtype) {
            case FLOAT32 -> Float.floatToRawIntBits((float) value);
            case FLOAT64 -> Double.doubleToRawLongBits(value);
            case INT32 -> (int) value;
            case INT64 -> (long) value;
            case BOOL -> value != 0 ? 1 : 0;
            case FLOAT16 -> Float.floatToFloat16((float) value);
            case BFLOAT16 -> {
                int u = Float.floatToRawIntBits((float) value);
                yield Float.isNaN((float) value) ? (u >>> 16) | 0x40 : (u + 0x7FFF + ((u >>> 16) & 1)) >>> 16;
            }
        };
    }

    // ---- elementwise ---------------------------------------------------------------------------------------

    /** The unary ops defined on integer and bool tensors, as in the CPU backend. */
    private static final java.util.Set<UnaryOp> EXACT_ON_INTEGERS = java.util.EnumSet.of(UnaryOp.NEG, UnaryOp.ABS, UnaryOp.SIGN,
            UnaryOp.SQUARE, UnaryOp.FLOOR, UnaryOp.CEIL, UnaryOp.ROUND, UnaryOp.RELU, UnaryOp.NOT, UnaryOp.IS_NAN);

    /** Unary ops that are one builtin of the kernel dialect, which CPU devices apply to 16-lane vectors of dense operands. */
    private static final java.util.Map<UnaryOp, String> VECTOR_BUILTINS = java.util.Map.ofEntries(
            java.util.Map.entry(UnaryOp.EXP, "exp"), java.util.Map.entry(UnaryOp.EXPM1, "expm1"), java.util.Map.entry(UnaryOp.LOG, "log"),
            java.util.Map.entry(UnaryOp.LOG1P, "log1p"), java.util.Map.entry(UnaryOp.SQRT, "sqrt"), java.util.Map.entry(UnaryOp.SIN, "sin"),
            java.util.Map.entry(UnaryOp.COS, "cos"), java.util.Map.entry(UnaryOp.TANH, "tanh"), java.util.Map.entry(UnaryOp.ERF, "erf"),
            java.util.Map.entry(UnaryOp.ABS, "fabs"), java.util.Map.entry(UnaryOp.FLOOR, "floor"), java.util.Map.entry(UnaryOp.CEIL, "ceil"),
            java.util.Map.entry(UnaryOp.ROUND, "rint"));

    @Override
    public synchronized void unary(UnaryOp op, double alpha, View x, View out) {
        long n = out.numel();
        if (n == 0) return;
        DType t = computeType("unary " + op, x.dtype());
        if (!t.isFloatingPoint() && !EXACT_ON_INTEGERS.contains(op))
            throw new IllegalArgumentException("unary " + op + " is not defined on integers: got " + t + " on " + device);
        Strided g = Strided.coalesce("unary", x, out);
        String builtin = VECTOR_BUILTINS.get(op);
        if (builtin != null && g.isDense() && t.isFloatingPoint() && !info.gpuLike()) {
            String entry = op.name().toLowerCase(java.util.Locale.ROOT) + "_" + t;
            launch("unary", KernelTypes.defines("T", t) + " -DOP=" + op.ordinal() + " -DENTRY=" + entry + " -DOUT_T=" + KernelTypes.clType(t)
                    + " -DVEC_FN=" + builtin, entry).floatingOf(t, alpha).i64(n)
                    .mem(buf(x.buffer())).i64(x.offset()).mem(buf(out.buffer())).i64(out.offset()).run1d((n + 15) / 16);
            return;
        }
        DType outType = op == UnaryOp.IS_NAN ? DType.BOOL : t;
        opLaunch("unary", op, t, outType, g).floatingOf(t, alpha).i32(g.rank()).longs(g.shape()).i64(n)
                .operand(buf(x.buffer()), g.strides(0), x.offset()).operand(buf(out.buffer()), g.strides(1), out.offset())
                .run1d(n);
    }

    /** Binary ops that are one C operator, which CPU devices apply to 16-lane vectors of dense floating operands. */
    private static final java.util.Map<BinaryOp, String> VECTOR_OPERATORS =
            java.util.Map.of(BinaryOp.ADD, "+", BinaryOp.SUB, "-", BinaryOp.MUL, "*", BinaryOp.DIV, "/");

    @Override
    public synchronized void binary(BinaryOp op, View a, View b, View out) {
        binaryKernel(op, 0, 0, a, b, out);
    }

    @Override
    public synchronized void binaryScalar(BinaryOp op, View a, double scalar, boolean scalarFirst, View out) {
        // The scalar takes the place of one operand; the tensor fills both slots and the kernel reads only one.
        binaryKernel(op, scalarFirst ? 2 : 1, scalar, a, a, out);
    }

    private void binaryKernel(BinaryOp op, int scalarMode, double scalar, View a, View b, View out) {
        long n = out.numel();
        if (n == 0) return;
        DType t = computeType("binary " + op, a.dtype());
        Strided g = Strided.coalesce("binary", a, b, out);
        String operator = VECTOR_OPERATORS.get(op);
        if (operator != null && g.isDense() && t.isFloatingPoint() && !info.gpuLike()) {
            String entry = op.name().toLowerCase(java.util.Locale.ROOT) + "_" + t;
            launch("binary", KernelTypes.defines("T", t) + " -DOP=" + op.ordinal() + " -DENTRY=" + entry + " -DOUT_T=" + KernelTypes.clType(t)
                    + " -DVEC_OP=" + operator, entry).i32(scalarMode).scalar(t, scalar).i64(n)
                    .mem(buf(a.buffer())).i64(a.offset()).mem(buf(b.buffer())).i64(b.offset())
                    .mem(buf(out.buffer())).i64(out.offset()).run1d((n + 15) / 16);
            return;
        }
        opLaunch("binary", op, t, op.writesBool() ? DType.BOOL : t, g)
                .i32(scalarMode).scalar(t, scalar).i32(g.rank()).longs(g.shape()).i64(n)
                .operand(buf(a.buffer()), g.strides(0), a.offset()).operand(buf(b.buffer()), g.strides(1), b.offset())
                .operand(buf(out.buffer()), g.strides(2), out.offset()).run1d(n);
    }

    /**
     * The entry point {@code <op>_<dtype>} of a family built for that one op, so the kernel carries no switch:
     * on PoCL a unary op runs three times faster that way than selecting the op at run time. Operands that are
     * all contiguous get a program built with DENSE, which skips the strided index arithmetic.
     */
    private Launch<M> opLaunch(String family, Enum<?> op, DType t, DType outType, Strided g) {
        String entry = op.name().toLowerCase(java.util.Locale.ROOT) + "_" + t;
        return launch(family, KernelTypes.defines("T", t) + " -DOP=" + op.ordinal() + " -DENTRY=" + entry
                + " -DOUT_T=" + KernelTypes.clType(outType) + (g.isDense() ? " -DDENSE" : ""), entry);
    }

    @Override
    public synchronized void where(View cond, View a, View b, View out) {
        long n = out.numel();
        if (n == 0) return;
        DType t = computeType("where", a.dtype());
        Strided g = Strided.coalesce("where", cond, a, b, out);
        launch("binary", KernelTypes.defines("T", t), "where_" + t).i32(g.rank()).longs(g.shape()).i64(n)
                .operand(buf(cond.buffer()), g.strides(0), cond.offset()).operand(buf(a.buffer()), g.strides(1), a.offset())
                .operand(buf(b.buffer()), g.strides(2), b.offset()).operand(buf(out.buffer()), g.strides(3), out.offset())
                .run1d(n);
    }

    // ---- reductions ----------------------------------------------------------------------------------------

    /**
     * On GPUs, below this many elements per output one work-item reduces each output; above, a work-group does.
     * CPU devices always take one work-item per output: PoCL runs a group's tree reduction as loops around each
     * barrier, and the group kernel moved 0.2 GB/s where the serial one moves several (see the README).
     */
    private static final long GROUP_REDUCE_THRESHOLD = 256;

    @Override
    public synchronized void reduce(ReduceOp op, View x, int[] axes, View out) {
        long nOut = out.numel();
        if (nOut == 0) return;
        DType t = computeType("reduce " + op, x.dtype());
        Axes split = Axes.split(x, out, axes);
        Strided kept = split.kept("reduce"), red = split.reduced("reduce");
        if (!info.gpuLike() && t.isFloatingPoint() && red.rank() == 1 && red.strides(0)[0] == 1) {
            // Contiguous floating rows on a CPU device: one work-item per row, in 16-lane vectors.
            Launch<M> l = rowLaunch(t, true, "reduce_rows_" + t).i32(op.ordinal()).i64(red.numel())
                    .i32(kept.rank()).longs(kept.shape()).longs(kept.strides(0)).longs(kept.strides(1)).i64(1)
                    .mem(buf(x.buffer())).i64(x.offset()).mem(buf(out.buffer())).i64(out.offset());
            runRows(l, t, nOut, red.numel());
            return;
        }
        if (!info.gpuLike() && t.isFloatingPoint() && kept.rank() == 1 && kept.strides(0)[0] == 1 && kept.strides(1)[0] == 1) {
            // Contiguous floating columns on a CPU device: each work-item reduces 16 neighbouring outputs as a vector.
            rowLaunch(t, true, "reduce_cols_" + t).i32(op.ordinal()).i64(nOut)
                    .i32(red.rank()).longs(red.shape()).longs(red.strides(0)).i64(red.numel())
                    .mem(buf(x.buffer())).i64(x.offset()).mem(buf(out.buffer())).i64(out.offset())
                    .run1d((nOut + ROW_LANES - 1) / ROW_LANES);
            return;
        }
        boolean group = info.gpuLike() && red.numel() >= GROUP_REDUCE_THRESHOLD;
        Launch<M> l = launch("reduce", KernelTypes.defines("T", t), (group ? "reduce_group_" : "reduce_serial_") + t);
        l.i32(op.ordinal()).i64(nOut).i32(kept.rank()).longs(kept.shape()).longs(kept.strides(0)).longs(kept.strides(1))
                .i32(red.rank()).longs(red.shape()).longs(red.strides(0)).i64(red.numel())
                .mem(buf(x.buffer())).i64(x.offset()).mem(buf(out.buffer())).i64(out.offset());
        if (!group) {
            l.run1d(nOut);
            return;
        }
        int wg = groupSize(l, red.numel());
        l.local((long) wg * t.byteSize()).run(new long[] {nOut * wg}, new long[] {wg});
    }

    @Override
    public synchronized void argReduce(ArgReduceOp op, View x, int axis, View out) {
        long nOut = out.numel();
        if (nOut == 0) return;
        DType t = computeType("argReduce " + op, x.dtype());
        View x1 = atLeast1d(x), o1 = atLeast1d(out);
        Axes split = Axes.split(x1, o1, new int[] {axis});
        Strided kept = split.kept("argReduce");
        launch("reduce", KernelTypes.defines("T", t), "arg_reduce_" + t)
                .i32(op.ordinal()).i64(nOut).i32(kept.rank()).longs(kept.shape()).longs(kept.strides(0)).longs(kept.strides(1))
                .i64(x1.shape()[axis]).i64(x1.strides()[axis])
                .mem(buf(x.buffer())).i64(x.offset()).mem(buf(out.buffer())).i64(out.offset()).run1d(nOut);
    }

    // ---- row-wise fused kernels (rows.cl): softmax and layer norm ---------------------------------------------

    @Override
    public synchronized void softmax(View x, int axis, boolean log, View out) {
        long n = out.numel();
        if (n == 0) return;
        DType t = floatingType("softmax", x.dtype());
        View x1 = atLeast1d(x), o1 = atLeast1d(out);
        Strided kept = Axes.split(x1, o1, new int[] {axis}).kept("softmax");
        long rowLen = x1.shape()[axis], xs = x1.strides()[axis], os = o1.strides()[axis];
        boolean contiguousRows = rowLen == 1 || (xs == 1 && os == 1);
        if (!contiguousRows && !info.gpuLike()) {
            // Strided rows on a CPU device: one scalar work-item per row lost to the composed default, whose column
            // reductions and elementwise kernels run on vectors (4096x768 along axis 0: 175 ms against 111).
            Backend.super.softmax(x, axis, log, out);
            return;
        }
        Launch<M> l = rowLaunch(t, contiguousRows, "softmax_" + t)
                .i32(log ? 1 : 0).i64(rowLen).i32(kept.rank()).longs(kept.shape()).longs(kept.strides(0)).longs(kept.strides(1))
                .i64(xs).i64(os).mem(buf(x.buffer())).i64(x.offset()).mem(buf(out.buffer())).i64(out.offset());
        runRows(l, t, kept.numel(), rowLen);
    }

    @Override
    public synchronized void layerNorm(View x, int normalizedDims, View weight, View bias, double eps, View out, View mean, View invStd) {
        DType t = floatingType("layerNorm", x.dtype());
        int lead = x.rank() - normalizedDims;
        Strided row = rowGeometry(x, lead, x, out, weight, bias);
        if (row == null) {
            Backend.super.layerNorm(x, normalizedDims, weight, bias, eps, out, mean, invStd);
            return;
        }
        Strided kept = keptGeometry(x, lead, x, out, mean, invStd);
        Launch<M> l = rowLaunch(t, row.isDense(), "layer_norm_" + t).i64(row.numel()).scalar(t, eps)
                .i32(weight != null ? 1 : 0).i32(bias != null ? 1 : 0)
                .i32(kept.rank()).longs(kept.shape()).longs(kept.strides(0)).longs(kept.strides(1)).longs(kept.strides(2)).longs(kept.strides(3))
                .i64(row.strides(0)[0]).i64(row.strides(1)[0]).i64(row.strides(2)[0]).i64(row.strides(3)[0])
                .mem(buf(x.buffer())).i64(x.offset()).mem(buf(out.buffer())).i64(out.offset());
        optional(optional(l, weight, x), bias, x)
                .mem(buf(mean.buffer())).i64(mean.offset()).mem(buf(invStd.buffer())).i64(invStd.offset());
        runRows(l, t, kept.numel(), row.numel());
    }

    @Override
    public synchronized void layerNormBackward(View gradOut, View x, int normalizedDims, View weight, View mean, View invStd,
                                               View gradInput, View gradWeight, View gradBias) {
        DType t = floatingType("layerNormBackward", x.dtype());
        int lead = x.rank() - normalizedDims;
        View gi = gradInput != null ? gradInput : x;
        Strided row = rowGeometry(x, lead, gradOut, x, gi, weight, gradWeight, gradBias);
        if (row == null) {
            Backend.super.layerNormBackward(gradOut, x, normalizedDims, weight, mean, invStd, gradInput, gradWeight, gradBias);
            return;
        }
        Strided kept = keptGeometry(x, lead, gradOut, x, gi, mean, invStd);
        long n = row.numel();
        if (gradInput != null) {
            Launch<M> l = rowLaunch(t, row.isDense(), "layer_norm_backward_" + t).i64(n).i32(weight != null ? 1 : 0)
                    .i32(kept.rank()).longs(kept.shape()).longs(kept.strides(0)).longs(kept.strides(1)).longs(kept.strides(2))
                    .longs(kept.strides(3)).longs(kept.strides(4))
                    .i64(row.strides(0)[0]).i64(row.strides(1)[0]).i64(row.strides(2)[0]).i64(row.strides(3)[0])
                    .mem(buf(gradOut.buffer())).i64(gradOut.offset()).mem(buf(x.buffer())).i64(x.offset())
                    .mem(buf(gradInput.buffer())).i64(gradInput.offset());
            optional(l, weight, x).mem(buf(mean.buffer())).i64(mean.offset()).mem(buf(invStd.buffer())).i64(invStd.offset());
            runRows(l, t, kept.numel(), n);
        }
        if (gradWeight == null && gradBias == null) return;
        Launch<M> l = rowLaunch(t, row.isDense(), "layer_norm_param_grads_" + t).i64(n).i64(kept.numel())
                .i32(gradWeight != null ? 1 : 0).i32(gradBias != null ? 1 : 0)
                .i32(kept.rank()).longs(kept.shape()).longs(kept.strides(0)).longs(kept.strides(1)).longs(kept.strides(3)).longs(kept.strides(4))
                .i64(row.strides(0)[0]).i64(row.strides(1)[0])
                .mem(buf(gradOut.buffer())).i64(gradOut.offset()).mem(buf(x.buffer())).i64(x.offset())
                .mem(buf(mean.buffer())).i64(mean.offset()).mem(buf(invStd.buffer())).i64(invStd.offset());
        View gw = gradWeight != null ? gradWeight : x, gb = gradBias != null ? gradBias : x;
        l.mem(buf(gw.buffer())).i64(row.strides(4)[0]).i64(gw.offset()).mem(buf(gb.buffer())).i64(row.strides(5)[0]).i64(gb.offset())
                .run1d((n + rowLanes(row.isDense()) - 1) / rowLanes(row.isDense()));
    }

    /** A buffer argument and its offset, or (absent) the stand-in's, which the kernel then does not read. */
    private Launch<M> optional(Launch<M> l, View v, View standIn) {
        View u = v != null ? v : standIn;
        return l.mem(buf(u.buffer())).i64(u.offset());
    }

    /**
     * The trailing dimensions of {@code shape} (from {@code lead} on) as one row of per-operand element strides, or
     * null when some operand's row does not coalesce to a single stride (the caller then composes the SPI's
     * default). Operands are full-rank views or views of the trailing shape alone; a null operand takes stride 1.
     */
    private static Strided rowGeometry(View x, int lead, View... operands) {
        int[] shape = Arrays.copyOfRange(x.shape(), lead, x.rank());
        long[][] strides = new long[operands.length][];
        for (int i = 0; i < operands.length; i++) {
            View v = operands[i];
            strides[i] = v == null ? View.contiguousStrides(shape) : Arrays.copyOfRange(v.strides(), v.rank() - shape.length, v.rank());
        }
        Strided row = Strided.coalesce("layerNorm", shape, strides);
        if (row.rank() > 1) return null;
        if (row.rank() == 0) for (long[] st : row.strides()) st[0] = 1;  // rows of one element: any stride will do
        return row;
    }

    /** The leading dimensions of {@code x}'s shape, one per row, with each operand's strides (all of x's rank). */
    private static Strided keptGeometry(View x, int lead, View... operands) {
        long[][] strides = new long[operands.length][];
        for (int i = 0; i < operands.length; i++) strides[i] = Arrays.copyOf(operands[i].strides(), lead);
        return Strided.coalesce("layerNorm", Arrays.copyOf(x.shape(), lead), strides);
    }

    /** Vector lanes per work-item of the row kernels, for CPU drivers when every operand's rows are contiguous. */
    private static final int ROW_LANES = 16;

    private int rowLanes(boolean contiguousRows) { return contiguousRows && !info.gpuLike() ? ROW_LANES : 1; }

    private Launch<M> rowLaunch(DType t, boolean contiguousRows, String kernel) {
        return launch("rows", KernelTypes.defines("T", t) + " -DROW_VW=" + rowLanes(contiguousRows), kernel);
    }

    /**
     * One work-group per row: GPUs spread a row over up to 256 work-items; CPU drivers, which run a group as a
     * loop over its items, get one item per row (the rows are the parallelism there).
     */
    private void runRows(Launch<M> l, DType t, long rows, long rowLen) {
        int wg = info.gpuLike() ? groupSize(l, rowLen) : 1;
        l.local((long) wg * t.byteSize()).run(new long[] {rows * wg}, new long[] {wg});
    }

    @Override
    public synchronized void maxPool2d(View input, Pool2dSpec spec, View out, View indices) {
        long n = out.numel();
        if (n == 0) return;
        DType t = computeType("maxPool2d", input.dtype());
        int[] s = input.shape();
        launch("pool", KernelTypes.defines("T", t), "max_pool2d_" + t)
                .i64(n).i32(s[1]).i32(s[2]).i32(s[3]).i32(out.shape()[2]).i32(out.shape()[3])
                .i32(spec.kernelH()).i32(spec.kernelW()).i32(spec.strideH()).i32(spec.strideW())
                .i32(spec.padH()).i32(spec.padW()).i32(spec.dilationH()).i32(spec.dilationW())
                .mem(buf(input.buffer())).longs(input.strides()).i64(input.offset())
                .mem(buf(out.buffer())).longs(out.strides()).i64(out.offset())
                .mem(buf(indices.buffer())).longs(indices.strides()).i64(indices.offset())
                .run1d(n);
    }

    /** A power-of-two work-group size for the tree reductions: at most 256, the kernel's limit and the work. */
    private static int groupSize(Launch<?> l, long work) {
        long limit = Math.min(256, l.maxWorkGroupSize());
        int wg = 1;
        while (wg * 2L <= limit && wg < work) wg *= 2;
        return wg;
    }

    // ---- linear algebra ------------------------------------------------------------------------------------

    @Override
    public synchronized void matmul(View a, View b, View out) {
        if (out.numel() == 0) return;
        if (!out.dtype().isComputeType()) {
            if (!vendorGemm(out.dtype(), a, b, out)) HalfDefaults.widened(this, out, (w, o) -> matmul(w[0], w[1], o), a, b);
            return;
        }
        DType t = floatingType("matmul", out.dtype());
        if (vendorGemm(t, a, b, out)) return;
        if (info.gpuLike()) tiledGemm(t, a, b, out);
        else blockedGemm(t, a, b, out);
    }

    /** Half-type matmul and convolutions are the runtime's vendor library's to compute, where it has one. */
    @Override
    public boolean computesHalf(String entryPoint, DType dtype) { return runtime.computesHalf(entryPoint, dtype); }

    /** The local-memory kernel for GPUs; devices whose work-groups hold fewer than 256 items get 8x8 groups. */
    private void tiledGemm(DType t, View a, View b, View out) {
        int r = out.rank(), m = out.shape()[r - 2], n = out.shape()[r - 1], k = a.shape()[r - 1];
        Strided batch = gemmBatch(a, b, out);
        boolean small = info.maxWorkGroupSize() < GEMM_THREADS;
        String tiles = small ? " -DTILE_M=32 -DTILE_N=32 -DTILE_K=16 -DWG_X=8 -DWG_Y=8" : "";
        int tileM = small ? 32 : 64, tileN = tileM, wgX = small ? 8 : 16, wgY = wgX;
        launch("gemm", KernelTypes.defines("T", t) + tiles, "gemm_" + t)
                .i32(m).i32(n).i32(k).i32(batch.rank()).longs(batch.shape())
                .longs(batch.strides(0)).longs(batch.strides(1)).longs(batch.strides(2))
                .i64(a.strides()[r - 2]).i64(a.strides()[r - 1]).i64(b.strides()[r - 2]).i64(b.strides()[r - 1])
                .i64(out.strides()[r - 2]).i64(out.strides()[r - 1])
                .mem(buf(a.buffer())).i64(a.offset()).mem(buf(b.buffer())).i64(b.offset()).mem(buf(out.buffer())).i64(out.offset())
                .run(new long[] {(long) ceilDiv(n, tileN) * wgX, (long) ceilDiv(m, tileM) * wgY, batch.numel()},
                        new long[] {wgX, wgY, 1});
    }

    /** Register blocks per work-item (see gemm.cl): RM rows by VN vector lanes, GX x GY items, k in chunks of KC. */
    // 12 x 16 float32 is 12 of AVX-512's 32 vector registers; measured on PoCL (n=1024) against 8x16 and 4x16
    // blocks, 4x4 and 2x2 groups, and 128 and 512 deep chunks, it was the fastest, though by less than the noise
    // of a shared machine for some of them.
    private static final int BLOCK_ROWS = 12, BLOCK_LANES = 16, GROUP_X = 8, GROUP_Y = 2, K_CHUNK = 256;

    /**
     * The register-blocked kernel for CPU devices. It reads b's rows as vectors, so a b whose columns are not
     * contiguous is first packed into a dense buffer by the copy kernel. The rows per work-item follow m: as many
     * blocks as 12-row blocks would need, each as short as that allows (m = 6 gets one 6-row block, 16 two of 8,
     * 64 six of 11), so a small m computes no clamped rows; a single row of blocks gets groups one item high.
     */
    private void blockedGemm(DType t, View a, View b, View out) {
        int r = out.rank(), m = out.shape()[r - 2], n = out.shape()[r - 1], k = a.shape()[r - 1];
        View packed = n > 1 && b.strides()[r - 1] != 1 ? allocateView(t, b.shape()) : null;
        if (packed != null) copy(b, packed);
        View bb = packed != null ? packed : b;
        Strided batch = gemmBatch(a, bb, out);
        int rowBlocks = ceilDiv(m, BLOCK_ROWS), rows = ceilDiv(m, rowBlocks);
        int groupY = Math.min(GROUP_Y, rowBlocks), groupX = GROUP_X * GROUP_Y / groupY;
        String tiles = " -DRM=" + rows + " -DVN=" + BLOCK_LANES + " -DGX=" + groupX + " -DGY=" + groupY + " -DKC=" + K_CHUNK;
        launch("gemm", KernelTypes.defines("T", t) + tiles, "gemm_blocked_" + t)
                .i32(m).i32(n).i32(k).i32(batch.rank()).longs(batch.shape())
                .longs(batch.strides(0)).longs(batch.strides(1)).longs(batch.strides(2))
                .i64(a.strides()[r - 2]).i64(a.strides()[r - 1]).i64(bb.strides()[r - 2])
                .i64(out.strides()[r - 2]).i64(out.strides()[r - 1])
                .mem(buf(a.buffer())).i64(a.offset()).mem(buf(bb.buffer())).i64(bb.offset()).mem(buf(out.buffer())).i64(out.offset())
                .run(new long[] {(long) ceilDiv(ceilDiv(n, BLOCK_LANES), groupX) * groupX,
                        (long) ceilDiv(rowBlocks, groupY) * groupY, batch.numel()}, new long[] {groupX, groupY, 1});
        // Later work on the in-order queue runs after this launch, so the buffer can go back to the pool now.
        if (packed != null) release(packed.buffer());
    }

    /** The runtime's vendor GEMM, when it has one for this dtype and the batch coalesces to one dimension. */
    private boolean vendorGemm(DType t, View a, View b, View out) {
        Strided batch = gemmBatch(a, b, out);
        if (batch.rank() > 1) return false;
        return runtime.vendorGemm(t, batch.numel(), gemmOperand(a, batch.strides(0)[0]), gemmOperand(b, batch.strides(1)[0]),
                gemmOperand(out, batch.strides(2)[0]));
    }

    private KernelRuntime.GemmOperand<M> gemmOperand(View v, long batchStride) {
        int r = v.rank();
        return new KernelRuntime.GemmOperand<>(buf(v.buffer()).memory, v.offset(), v.shape()[r - 2], v.shape()[r - 1],
                v.strides()[r - 2], v.strides()[r - 1], batchStride);
    }

    private static Strided gemmBatch(View a, View b, View out) {
        int r = out.rank();
        return Strided.coalesce("matmul", Arrays.copyOf(out.shape(), r - 2), Arrays.copyOf(a.strides(), r - 2),
                Arrays.copyOf(b.strides(), r - 2), Arrays.copyOf(out.strides(), r - 2));
    }

    private static int ceilDiv(int a, int b) { return (a + b - 1) / b; }

    // ---- convolution: im2col / col2im kernels feeding the GEMM kernels (KernelConvolution) ----------------

    @Override
    public synchronized void conv2d(View input, View weight, Conv2dSpec spec, View out) {
        if (out.numel() == 0 || vendorOrWidened(KernelRuntime.ConvDirection.FORWARD, input, weight, out, spec)) return;
        convolution.forward(input, weight, spec, out);
    }

    @Override
    public synchronized void conv2dBackwardInput(View gradOut, View weight, Conv2dSpec spec, View gradInput) {
        if (gradInput.numel() == 0 || vendorOrWidened(KernelRuntime.ConvDirection.BACKWARD_INPUT, gradInput, weight, gradOut, spec)) return;
        convolution.backwardInput(gradOut, weight, spec, gradInput);
    }

    @Override
    public synchronized void conv2dBackwardWeight(View input, View gradOut, Conv2dSpec spec, View gradWeight) {
        if (gradWeight.numel() == 0 || vendorOrWidened(KernelRuntime.ConvDirection.BACKWARD_WEIGHT, input, gradWeight, gradOut, spec)) return;
        convolution.backwardWeight(input, gradOut, spec, gradWeight);
    }

    /**
     * One convolution product through the runtime's vendor library when it takes it; otherwise, for half-type
     * operands, the float32 entry point on widened copies. False: the caller's own kernels run.
     */
    private boolean vendorOrWidened(KernelRuntime.ConvDirection d, View x, View w, View y, Conv2dSpec spec) {
        if (x.numel() > 0 && w.numel() > 0 && y.numel() > 0
                && runtime.vendorConv2d(d, x.dtype(), convOperand(x), convOperand(w), convOperand(y), spec)) return true;
        if (x.dtype().isComputeType()) return false;
        switch (d) {
            case FORWARD -> HalfDefaults.widened(this, y, (in, out) -> conv2d(in[0], in[1], spec, out), x, w);
            case BACKWARD_INPUT -> HalfDefaults.widened(this, x, (in, out) -> conv2dBackwardInput(in[0], in[1], spec, out), y, w);
            case BACKWARD_WEIGHT -> HalfDefaults.widened(this, w, (in, out) -> conv2dBackwardWeight(in[0], in[1], spec, out), x, y);
        }
        return true;
    }

    private KernelRuntime.ConvOperand<M> convOperand(View v) {
        return new KernelRuntime.ConvOperand<>(buf(v.buffer()).memory, v.offset(), v.shape(), v.strides());
    }

    // ---- indexing ------------------------------------------------------------------------------------------

    @Override
    public synchronized void gather(View src, int axis, View index, View out) {
        long n = out.numel();
        if (n == 0) return;
        View s = atLeast1d(src), ix = atLeast1d(index), o = atLeast1d(out);
        Strided g = Strided.exact("gather", o.shape(), s.strides(), ix.strides(), o.strides());
        indexLaunch("gather", src.dtype(), index.dtype(), g, axis)
                .operand(buf(src.buffer()), g.strides(0), src.offset()).operand(buf(index.buffer()), g.strides(1), index.offset())
                .operand(buf(out.buffer()), g.strides(2), out.offset()).run1d(n);
    }

    @Override
    public synchronized void scatterAdd(View dst, int axis, View index, View src) {
        if (index.numel() == 0) return;
        View d = atLeast1d(dst), ix = atLeast1d(index), s = atLeast1d(src);
        int[] columns = ix.shape().clone();
        columns[axis] = 1;
        Strided g = Strided.exact("scatterAdd", columns, d.strides(), ix.strides(), s.strides());
        indexLaunch("scatter_add", dst.dtype(), index.dtype(), g, axis).i64(ix.shape()[axis])
                .operand(buf(dst.buffer()), g.strides(0), dst.offset()).operand(buf(index.buffer()), g.strides(1), index.offset())
                .operand(buf(src.buffer()), g.strides(2), src.offset()).run1d(g.numel());
    }

    // index_select and index_add are gather and scatter-add with the 1-D index repeated (stride 0) over every
    // other dimension, so they share those kernels.

    @Override
    public synchronized void indexSelect(View src, int axis, View index, View out) {
        gather(src, axis, alongAxis(index, axis, out.shape()), out);
    }

    @Override
    public synchronized void indexAdd(View dst, int axis, View index, View src) {
        scatterAdd(dst, axis, alongAxis(index, axis, src.shape()), src);
    }

    /** A 1-D index seen as a tensor of {@code shape} that varies only along {@code axis}. */
    private static View alongAxis(View index, int axis, int[] shape) {
        long[] strides = new long[shape.length];
        strides[axis] = index.rank() == 0 ? 0 : index.strides()[0];
        return index.withShape(shape, strides, index.offset());
    }

    private Launch<M> indexLaunch(String kernel, DType t, DType indexType, Strided g, int axis) {
        DType ct = computeType(kernel, t);
        return launch("index", KernelTypes.defines("T", ct) + KernelTypes.indexDefines(indexType), kernel + "_" + ct)
                .i32(g.rank()).i32(axis).longs(g.shape()).i64(g.numel());
    }

    // ---- random --------------------------------------------------------------------------------------------

    @Override
    public synchronized void random(Distribution dist, double a, double b, long seed, long offset, View out) {
        long n = out.numel();
        if (n == 0) return;
        DType t = out.dtype();
        if (t == DType.FLOAT64 && !info.fp64()) throw noFp64("random");
        Strided g = Strided.coalesce("random", out);
        launch("random", KernelTypes.defines("D", t), "random_" + t)
                .i32(dist.ordinal()).wide(a).wide(b).i64((long) a).i64((long) (b - a)).i64(seed).i64(offset)
                .i32(g.rank()).longs(g.shape()).i64(n).operand(buf(out.buffer()), g.strides(0), out.offset()).run1d(n);
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    Launch<M> launch(String family, String defines, String kernel) {
        checkOpen();
        String programKey = family + defines;
        String key = programKey + "#" + kernel;
        KernelRuntime.Kernel<M> k = kernels.get(key);
        if (k == null) {
            KernelRuntime.Program<M> program = programs.computeIfAbsent(programKey, x -> runtime.compile(family, KernelSources.unit(family), defines));
            k = program.kernel(kernel);
            kernels.put(key, k);
        }
        return new Launch<>(k, info.fp64());
    }

    DeviceBuffer<M> buf(Buffer b) {
        checkOpen();
        DeviceBuffer<M> d = owned(b);
        if (d.isReleased()) throw new IllegalStateException(b + " on " + device + " is used after release");
        return d;
    }

    @SuppressWarnings("unchecked")
    private DeviceBuffer<M> owned(Buffer b) {
        if (!(b instanceof DeviceBuffer<?> d) || d.owner != pool)
            throw new IllegalArgumentException(b + " is not a buffer of " + device + " (" + info.name() + ")");
        return (DeviceBuffer<M>) d;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException(device + " (" + info.name() + ") is closed");
    }

    private void checkRange(String op, DeviceBuffer<M> b, long byteOffset, long bytes) {
        if (byteOffset < 0 || byteOffset + bytes > b.byteSize())
            throw new IndexOutOfBoundsException(op + ": bytes [" + byteOffset + ", " + (byteOffset + bytes) + ") outside " + b + " on " + device);
    }

    /** The dtype a kernel computes in, rejecting storage-only types and float64 on devices without fp64. */
    private DType computeType(String op, DType t) {
        if (!t.isComputeType())
            throw new IllegalStateException(op + ": " + t + " is a storage type; cast to float32 before computing on " + device);
        if (t == DType.FLOAT64 && !info.fp64()) throw noFp64(op);
        return t;
    }

    DType floatingType(String op, DType t) {
        if (!t.isFloatingPoint()) throw new IllegalStateException(op + " on " + device + " needs a floating dtype, got " + t);
        return computeType(op, t);
    }

    private IllegalStateException noFp64(String op) {
        return new IllegalStateException(op + ": float64 needs " + info.fp64Requirement() + ", which " + info.name() + " (" + device + ") lacks");
    }

    private static View atLeast1d(View v) {
        return v.rank() > 0 ? v : v.withShape(new int[] {1}, new long[] {0}, v.offset());
    }

    @Override
    public String toString() { return "KernelBackend[" + device + ": " + info.name() + "]"; }
}
