package dev.kiln.backend;

import dev.kiln.DType;
import dev.kiln.Device;

import java.lang.foreign.MemorySegment;

/**
 * The contract between Kiln's tensors and one device. It is deliberately small: memory and transfers, a handful
 * of primitive kernel families selected by op codes, and a few fused kernels whose defaults here compose the
 * primitives, so a backend that overrides nothing is still complete and correct.
 *
 * <h2>Conventions</h2>
 * <ul>
 *   <li>Every kernel reads and writes {@link View}s: shape, element strides and offset over an opaque
 *       {@link Buffer}. Inputs may be any strided views (transposed, sliced, broadcast with stride 0); outputs
 *       never overlap themselves. Broadcasting is resolved above the SPI: the inputs of an elementwise kernel
 *       arrive with the output's shape.</li>
 *   <li>Kernels may run asynchronously. {@link #copyToHost} and {@link #synchronize} are the points where the
 *       host waits (the synchronisation points). Kernels on one backend run in the order they were issued.</li>
 *   <li>Arguments have been validated by the tensor layer (shapes, dtypes, devices); a backend may assume
 *       them consistent, and throws {@link IllegalStateException} only for its own failures (out of memory,
 *       a kernel that does not build).</li>
 *   <li>Backends know nothing of autograd; gradients are composed from these same entry points above.</li>
 *   <li>{@link #close} frees the device's resources; {@link DeviceProbe} closes the backends it opened when the
 *       JVM exits.</li>
 * </ul>
 *
 * <h2>Asynchronous errors and buffer lifetimes: what every backend must do</h2>
 * <ul>
 *   <li><b>Errors surface, named.</b> An entry point that only issues work may return before the work ran. A
 *       failure found while issuing it throws at once; a failure of the work itself (a kernel that did not run or
 *       did not finish, a device-side check such as {@link #checkIndex}) must surface at the latest at this
 *       backend's next synchronisation point, as an exception naming the op that failed. Results of failed work
 *       are never returned as if they were valid: a read that follows a failed kernel throws instead.</li>
 *   <li><b>Released is not yet free.</b> {@link #release} may be called (by {@link dev.kiln.Tensor#close()}, a
 *       scope, or the tensors' {@code Cleaner} on its own thread) while work already issued still reads or writes
 *       the buffer. The backend must not hand that memory to a later {@link #allocate} in a way that lets new work
 *       touch it before the issued work has finished with it. On a single in-order queue this holds by
 *       construction (new work runs after the old), provided {@code release} and issuing are ordered: a release
 *       from another thread must not slip between a launch's argument checks and its enqueue (OpenCL takes the
 *       backend's lock for both). A backend with several queues or streams keeps a buffer released on one of them
 *       out of the others' reach until that stream's work before the release has run (an event recorded at
 *       release, or the stream as part of the cache key).</li>
 *   <li><b>The caller keeps buffers alive during the call.</b> The tensor layer keeps a view's owner reachable
 *       until the entry point returned ({@link java.lang.ref.Reference#reachabilityFence}), so a buffer is never
 *       released by the {@code Cleaner} in the middle of a call that was passed it.</li>
 *   <li><b>Closing.</b> {@link #close} waits for the issued work, then frees the device resources; the backend
 *       must not be used afterwards.</li>
 * </ul>
 */
public interface Backend extends AutoCloseable {

    /** The concrete device, with its index. */
    Device device();

    /**
     * Waits for the issued work, then frees what the backend holds on its device (cached memory, compiled kernels,
     * queues, contexts). Idempotent; afterwards every entry point except {@link #release} throws
     * {@link IllegalStateException} naming the device (a release of a buffer of a closed backend does nothing).
     * The default holds nothing to free.
     */
    @Override
    default void close() {}

    /** One line for {@code kiln devices}: what this is, e.g. "pure Java, 2 threads, 512-bit vectors". */
    String description();

    // ---- memory --------------------------------------------------------------------------------------------

    /** A buffer of at least {@code bytes} bytes with undefined contents. */
    Buffer allocate(long bytes);

    /** Returns a buffer to the backend (its cache, or the system). The buffer must not be used afterwards. */
    void release(Buffer buffer);

    MemoryStats memoryStats();

    /** Hands cached but unused memory back to the system. */
    default void emptyCache() {}

    // ---- transfers -----------------------------------------------------------------------------------------

    /** Copies all of {@code src} (host memory) into {@code dst} at a byte offset. */
    void copyFromHost(MemorySegment src, Buffer dst, long dstByteOffset);

    /** Copies {@code dst.byteSize()} bytes from {@code src} at a byte offset into host memory; waits for them. */
    void copyToHost(Buffer src, long srcByteOffset, MemorySegment dst);

    /**
     * Strided copy between two views of the same shape on this device, converting when the dtypes differ
     * (floats to integers truncate toward zero; anything to bool is "not zero").
     */
    void copy(View src, View dst);

    /** Sets every element of {@code dst} to {@code value}, converted to its dtype. */
    void fill(View dst, double value);

    // ---- elementwise ---------------------------------------------------------------------------------------

    /** {@code out = op(x)}; {@code alpha} is the parameter of the ops that take one (see {@link UnaryOp}). */
    void unary(UnaryOp op, double alpha, View x, View out);

    /** {@code out = a op b}, with {@code a}, {@code b} and {@code out} of one shape. */
    void binary(BinaryOp op, View a, View b, View out);

    /** {@code out = a op scalar}, or {@code scalar op a} when {@code scalarFirst}. */
    void binaryScalar(BinaryOp op, View a, double scalar, boolean scalarFirst, View out);

    /** {@code out = cond ? a : b}; {@code cond} is bool, all four of one shape. */
    void where(View cond, View a, View b, View out);

    // ---- reductions ----------------------------------------------------------------------------------------

    /**
     * Reduces {@code x} over {@code axes} (sorted, distinct). {@code out} has x's rank with those axes of size 1.
     * The sum of an empty set is 0, the product 1; max and min of an empty set are rejected above the SPI.
     */
    void reduce(ReduceOp op, View x, int[] axes, View out);

    /** Index of the max or min along {@code axis}; {@code out} is int64 with that axis of size 1. */
    void argReduce(ArgReduceOp op, View x, int axis, View out);

    // ---- linear algebra ------------------------------------------------------------------------------------

    /**
     * Batched matrix product {@code out[..., m, n] = sum_k a[..., m, k] * b[..., k, n]}. All three have the
     * same rank (at least 2); the batch dimensions of a and b arrive broadcast to those of out (stride 0 where
     * they repeat), and a transpose is only a swap of the last two strides. One floating dtype throughout.
     */
    void matmul(View a, View b, View out);

    // ---- indexing ------------------------------------------------------------------------------------------

    /** {@code out[i][j][k] = src[index[i][j][k]][j][k]} for axis 0, and so on (PyTorch's gather). */
    void gather(View src, int axis, View index, View out);

    /** {@code dst[index[i][j][k]][j][k] += src[i][j][k]} for axis 0, and so on (PyTorch's scatter_add_). */
    void scatterAdd(View dst, int axis, View index, View src);

    /** Selects whole slices along {@code axis}: {@code out.select(axis, i) = src.select(axis, index[i])}. */
    void indexSelect(View src, int axis, View index, View out);

    /** The adjoint of indexSelect: {@code dst.select(axis, index[i]) += src.select(axis, i)}. */
    void indexAdd(View dst, int axis, View index, View src);

    // ---- random --------------------------------------------------------------------------------------------

    /**
     * Fills {@code out} from {@code dist} with parameters {@code a}, {@code b}. Element i (in row-major order
     * of out) uses Philox counter {@code offset + i} and key {@code seed}: see {@link Distribution}.
     */
    void random(Distribution dist, double a, double b, long seed, long offset, View out);

    /**
     * Waits for every kernel issued so far; a failure of that work throws here, naming the op (see the class
     * documentation).
     */
    default void synchronize() {}

    /**
     * Checks that every value of the integer view {@code index} lies in [0, {@code bound}). May run
     * asynchronously: a violation surfaces at the latest at this backend's next synchronisation point
     * ({@link #copyToHost}, {@link #synchronize}) as an {@link IndexOutOfBoundsException} naming {@code op}, the
     * first offending value found and the bound. This default checks at once, through a host copy.
     */
    default void checkIndex(String op, View index, long bound) {
        long n = index.numel();
        if (n == 0) return;
        View dense = allocateView(DType.INT64, index.shape());
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            copy(index, dense);
            MemorySegment host = arena.allocate(n * Long.BYTES, Long.BYTES);
            copyToHost(dense.buffer(), 0, host);
            for (long i = 0; i < n; i++) {
                long v = host.getAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i);
                if (v < 0 || v >= bound)
                    throw new IndexOutOfBoundsException(op + ": index value " + v + " is out of range [0, " + bound + ") on " + device());
            }
        } finally {
            release(dense.buffer());
        }
    }

    // ---- fused kernels: defaults compose the primitives above -----------------------------------------------

    /** Softmax (or log-softmax) of x along {@code axis} into {@code out} of the same shape. */
    default void softmax(View x, int axis, boolean log, View out) {
        FusedDefaults.softmax(this, x, axis, log, out);
    }

    /** conv2d of NCHW {@code input} with {@code weight} (Cout, Cin/groups, KH, KW), no bias, into {@code out}. */
    default void conv2d(View input, View weight, Conv2dSpec spec, View out) {
        FusedDefaults.conv2d(this, input, weight, spec, out);
    }

    /** Gradient of conv2d with respect to its input. */
    default void conv2dBackwardInput(View gradOut, View weight, Conv2dSpec spec, View gradInput) {
        FusedDefaults.conv2dBackwardInput(this, gradOut, weight, spec, gradInput);
    }

    /** Gradient of conv2d with respect to its weight. */
    default void conv2dBackwardWeight(View input, View gradOut, Conv2dSpec spec, View gradWeight) {
        FusedDefaults.conv2dBackwardWeight(this, input, gradOut, spec, gradWeight);
    }

    /**
     * Max pooling of NCHW {@code input} into {@code out} (N, C, OH, OW) and int64 {@code indices} of that shape: each
     * window's maximum (a NaN wins; among ties the first tap in row-major order) and its flat position
     * {@code h * W + w} in the input plane. The padding never wins: a window of -inf reports a position in the input.
     * The gradient needs no entry point of its own: it is a scatter-add at the indices.
     */
    default void maxPool2d(View input, Pool2dSpec spec, View out, View indices) {
        PoolingDefaults.maxPool2d(this, input, spec, out, indices);
    }

    /**
     * Layer normalisation. Each row of {@code x} (its trailing {@code normalizedDims} dimensions, of N elements)
     * becomes {@code (x - mean) * invStd * weight + bias}, with the row's mean, its biased variance and
     * {@code invStd = 1 / sqrt(variance + eps)}.
     * <ul>
     *   <li>{@code x}, {@code out}: (..., N1, ..., Nk) with k = normalizedDims, 1 &lt;= k &lt;= rank; x any strides,
     *       out dense is the usual case but not promised.</li>
     *   <li>{@code weight}, {@code bias}: (N1, ..., Nk), or null for a weight of 1 and a bias of 0.</li>
     *   <li>{@code mean}, {@code invStd}: written; x's shape with the trailing k dimensions of size 1.</li>
     * </ul>
     * One floating dtype throughout; N &gt;= 1 and x not empty (the tensor layer handles empty inputs).
     */
    default void layerNorm(View x, int normalizedDims, View weight, View bias, double eps, View out, View mean, View invStd) {
        NormalizationDefaults.layerNorm(this, x, normalizedDims, weight, bias, eps, out, mean, invStd);
    }

    /**
     * Gradients of {@link #layerNorm} from the statistics its forward pass wrote. With {@code xhat = (x - mean) * invStd},
     * {@code g = gradOut * weight} and row means {@code <.>}:
     * {@code gradInput = invStd * (g - <g> - xhat * <g * xhat>)}, {@code gradWeight = sum over rows of gradOut * xhat},
     * {@code gradBias = sum over rows of gradOut}.
     * <ul>
     *   <li>{@code gradOut}, {@code x}, {@code gradInput}: x's shape; gradOut and x any strides (gradOut may be a
     *       broadcast with stride 0).</li>
     *   <li>{@code weight}: (N1, ..., Nk), or null for 1. {@code mean}, {@code invStd}: as layerNorm wrote them.</li>
     *   <li>{@code gradWeight}, {@code gradBias}: (N1, ..., Nk), overwritten.</li>
     *   <li>Each of gradInput, gradWeight and gradBias may be null when that gradient is not wanted.</li>
     * </ul>
     */
    default void layerNormBackward(View gradOut, View x, int normalizedDims, View weight, View mean, View invStd,
                                   View gradInput, View gradWeight, View gradBias) {
        NormalizationDefaults.layerNormBackward(this, gradOut, x, normalizedDims, weight, mean, invStd, gradInput, gradWeight, gradBias);
    }

    // ---- helpers for implementations -----------------------------------------------------------------------

    /** A fresh dense view of a new buffer; callers release it with {@link #release}. */
    default View allocateView(DType dtype, int... shape) {
        return View.contiguous(allocate(Math.max(1, View.numel(shape)) * dtype.byteSize()), dtype, shape);
    }
}
