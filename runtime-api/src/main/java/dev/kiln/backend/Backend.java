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
 *   <li>Kernels may run asynchronously. {@link #copyToHost} and {@link #synchronize} are the synchronisation
 *       points: the only places where the host waits. Kernels on one backend run in the order they were issued.
 *       An error detected in asynchronous work (such as a {@link #checkIndex} violation) surfaces at the latest
 *       at the next synchronisation point, as an exception that names the op.</li>
 *   <li>Nothing in a training step reads back: bounds checks ({@link #checkIndex}) and constants ({@link #arange})
 *       stay on the device, so a step issues kernels without draining the pipeline. The kit holds every backend
 *       to this by counting {@link #copyToHost} calls during training steps.</li>
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

    /**
     * The concrete device, with its index.
     *
     * @return the device
     */
    Device device();

    /**
     * Waits for the issued work, then frees what the backend holds on its device (cached memory, compiled kernels,
     * queues, contexts). Idempotent; afterwards every entry point except {@link #release} throws
     * {@link IllegalStateException} naming the device (a release of a buffer of a closed backend does nothing).
     * The default holds nothing to free.
     */
    @Override
    default void close() {}

    /**
     * One line for {@code kiln devices}: what this is, e.g. "pure Java, 2 threads, 512-bit vectors".
     *
     * @return the description
     */
    String description();

    // ---- memory --------------------------------------------------------------------------------------------

    /**
     * A buffer of at least {@code bytes} bytes with undefined contents.
     *
     * @param bytes the size, at least 1
     * @return the buffer
     * @throws IllegalStateException if the device is out of memory
     */
    Buffer allocate(long bytes);

    /**
     * Returns a buffer to the backend (its cache, or the system). The buffer must not be used afterwards.
     *
     * @param buffer a buffer this backend allocated
     */
    void release(Buffer buffer);

    /**
     * {@return the bytes this backend holds: live, cached, and the peak of live}
     */
    MemoryStats memoryStats();

    /** Hands cached but unused memory back to the system. */
    default void emptyCache() {}

    // ---- transfers -----------------------------------------------------------------------------------------

    /**
     * Copies all of {@code src} (host memory) into {@code dst} at a byte offset.
     *
     * @param src host memory
     * @param dst the buffer written
     * @param dstByteOffset where in dst the bytes go
     */
    void copyFromHost(MemorySegment src, Buffer dst, long dstByteOffset);

    /**
     * Copies {@code dst.byteSize()} bytes from {@code src} at a byte offset into host memory; waits for them.
     *
     * @param src the buffer read
     * @param srcByteOffset where in src the bytes start
     * @param dst host memory, filled
     */
    void copyToHost(Buffer src, long srcByteOffset, MemorySegment dst);

    /**
     * Strided copy between two views of the same shape on this device, converting when the dtypes differ
     * (floats to integers truncate toward zero; anything to bool is "not zero").
     *
     * @param src the view read
     * @param dst the view written, of src's shape
     */
    void copy(View src, View dst);

    /**
     * Sets every element of {@code dst} to {@code value}, converted to its dtype.
     *
     * @param dst the view written
     * @param value the value
     */
    void fill(View dst, double value);

    // ---- elementwise ---------------------------------------------------------------------------------------

    /**
     * {@code out = op(x)}; {@code alpha} is the parameter of the ops that take one (see {@link UnaryOp}).
     *
     * @param op the function
     * @param alpha its parameter, where it takes one
     * @param x the input
     * @param out the output, of x's shape
     */
    void unary(UnaryOp op, double alpha, View x, View out);

    /**
     * {@code out = a op b}, with {@code a}, {@code b} and {@code out} of one shape.
     *
     * @param op the function
     * @param a the left operand
     * @param b the right operand
     * @param out the output
     */
    void binary(BinaryOp op, View a, View b, View out);

    /**
     * {@code out = a op scalar}, or {@code scalar op a} when {@code scalarFirst}.
     *
     * @param op the function
     * @param a the tensor operand
     * @param scalar the scalar operand
     * @param scalarFirst whether the scalar is the left operand
     * @param out the output, of a's shape
     */
    void binaryScalar(BinaryOp op, View a, double scalar, boolean scalarFirst, View out);

    /**
     * {@code out = cond ? a : b}; {@code cond} is bool, all four of one shape.
     *
     * @param cond the bool condition
     * @param a the values where it holds
     * @param b the values where it does not
     * @param out the output
     */
    void where(View cond, View a, View b, View out);

    // ---- reductions ----------------------------------------------------------------------------------------

    /**
     * Reduces {@code x} over {@code axes} (sorted, distinct). {@code out} has x's rank with those axes of size 1.
     * The sum of an empty set is 0, the product 1; max and min of an empty set are rejected above the SPI.
     *
     * @param op the reduction
     * @param x the input
     * @param axes the axes reduced, sorted and distinct
     * @param out the output
     */
    void reduce(ReduceOp op, View x, int[] axes, View out);

    /**
     * Index of the max or min along {@code axis}; {@code out} is int64 with that axis of size 1.
     *
     * @param op argmax or argmin
     * @param x the input
     * @param axis the axis searched
     * @param out the int64 output
     */
    void argReduce(ArgReduceOp op, View x, int axis, View out);

    // ---- linear algebra ------------------------------------------------------------------------------------

    /**
     * Batched matrix product {@code out[..., m, n] = sum_k a[..., m, k] * b[..., k, n]}. All three have the
     * same rank (at least 2); the batch dimensions of a and b arrive broadcast to those of out (stride 0 where
     * they repeat), and a transpose is only a swap of the last two strides. One floating dtype throughout.
     *
     * @param a the left operand (..., m, k)
     * @param b the right operand (..., k, n)
     * @param out the product (..., m, n)
     */
    void matmul(View a, View b, View out);

    // ---- indexing ------------------------------------------------------------------------------------------

    /**
     * {@code out[i][j][k] = src[index[i][j][k]][j][k]} for axis 0, and so on (PyTorch's gather).
     *
     * @param src the values
     * @param axis the axis indexed
     * @param index int64 indices, of out's shape
     * @param out the output
     */
    void gather(View src, int axis, View index, View out);

    /**
     * {@code dst[index[i][j][k]][j][k] += src[i][j][k]} for axis 0, and so on (PyTorch's scatter_add_).
     *
     * @param dst the tensor added into
     * @param axis the axis indexed
     * @param index int64 indices, of src's shape
     * @param src the values added
     */
    void scatterAdd(View dst, int axis, View index, View src);

    /**
     * Selects whole slices along {@code axis}: {@code out.select(axis, i) = src.select(axis, index[i])}.
     *
     * @param src the values
     * @param axis the axis indexed
     * @param index int64 indices (1-D)
     * @param out the output, with index's length along axis
     */
    void indexSelect(View src, int axis, View index, View out);

    /**
     * The adjoint of indexSelect: {@code dst.select(axis, index[i]) += src.select(axis, i)}.
     *
     * @param dst the tensor added into
     * @param axis the axis indexed
     * @param index int64 indices (1-D)
     * @param src the slices added, with index's length along axis
     */
    void indexAdd(View dst, int axis, View index, View src);

    /**
     * Checks that every value of the integer view {@code index} (int32 or int64, any strides) lies in
     * {@code [0, bound)}. It may run asynchronously: a violation must surface at the latest at this backend's next
     * synchronisation point ({@link #copyToHost}, {@link #synchronize}) as an {@link IndexOutOfBoundsException}
     * made by {@link #indexOutOfBounds}, naming {@code op}, the first offending value found and the bound. Work
     * issued between the check and that point may have run with the bad index; its results are not used, because
     * the exception reaches the caller first. The default is immediate and correct on any backend: a min and a
     * max reduction and one read back of the two values. Backends override it with a scan that does not wait.
     *
     * @param op the op's name, for the exception
     * @param index the integer view checked
     * @param bound one past the largest valid index
     */
    default void checkIndex(String op, View index, long bound) {
        IndexDefaults.checkIndex(this, op, index, bound);
    }

    /**
     * The exception of a failed {@link #checkIndex}, worded the same by every backend.
     *
     * @param op the op's name
     * @param value the offending index
     * @param bound one past the largest valid index
     * @return the exception, to throw
     */
    static IndexOutOfBoundsException indexOutOfBounds(String op, long value, long bound) {
        return new IndexOutOfBoundsException(op + ": index " + value + " is out of bounds for size " + bound);
    }

    /**
     * Writes {@code start + i * step} into element i (row-major) of {@code out}, converted to its dtype: the
     * sequence behind {@code arange}, {@code linspace} and the masks and position tables built from them. The
     * default fills an int64 index sequence in log2(n) doubling steps of {@link #binaryScalar} and scales it in
     * out's dtype (or in int64 when start and step are integers); a backend overrides it with one kernel.
     *
     * @param start the first value
     * @param step the difference between consecutive values
     * @param out the view written, any dtype
     */
    default void arange(double start, double step, View out) {
        IndexDefaults.arange(this, start, step, out);
    }

    // ---- random --------------------------------------------------------------------------------------------

    /**
     * Fills {@code out} from {@code dist} with parameters {@code a}, {@code b}. Element i (in row-major order
     * of out) uses Philox counter {@code offset + i} and key {@code seed}: see {@link Distribution}.
     *
     * @param dist the distribution
     * @param a its first parameter
     * @param b its second parameter
     * @param seed the Philox key
     * @param offset the counter of element 0
     * @param out the output
     */
    void random(Distribution dist, double a, double b, long seed, long offset, View out);

    /**
     * Waits for every kernel issued so far; a failure of that work throws here, naming the op (see the class
     * documentation).
     */
    default void synchronize() {}

    // ---- fused kernels: defaults compose the primitives above -----------------------------------------------

    /**
     * Softmax (or log-softmax) of x along {@code axis} into {@code out} of the same shape.
     *
     * @param x the input
     * @param axis the axis normalised over
     * @param log whether to write log-softmax
     * @param out the output
     */
    default void softmax(View x, int axis, boolean log, View out) {
        FusedDefaults.softmax(this, x, axis, log, out);
    }

    /**
     * conv2d of NCHW {@code input} with {@code weight} (Cout, Cin/groups, KH, KW), no bias, into {@code out}.
     *
     * @param input the input (N, Cin, H, W)
     * @param weight the weight (Cout, Cin/groups, KH, KW)
     * @param spec strides, padding, dilation and groups
     * @param out the output (N, Cout, OH, OW)
     */
    default void conv2d(View input, View weight, Conv2dSpec spec, View out) {
        FusedDefaults.conv2d(this, input, weight, spec, out);
    }

    /**
     * Gradient of conv2d with respect to its input.
     *
     * @param gradOut the gradient of the output
     * @param weight the weight
     * @param spec the forward pass's geometry
     * @param gradInput the gradient of the input, overwritten
     */
    default void conv2dBackwardInput(View gradOut, View weight, Conv2dSpec spec, View gradInput) {
        FusedDefaults.conv2dBackwardInput(this, gradOut, weight, spec, gradInput);
    }

    /**
     * Gradient of conv2d with respect to its weight.
     *
     * @param input the forward pass's input
     * @param gradOut the gradient of the output
     * @param spec the forward pass's geometry
     * @param gradWeight the gradient of the weight, overwritten
     */
    default void conv2dBackwardWeight(View input, View gradOut, Conv2dSpec spec, View gradWeight) {
        FusedDefaults.conv2dBackwardWeight(this, input, gradOut, spec, gradWeight);
    }

    /**
     * Max pooling of NCHW {@code input} into {@code out} (N, C, OH, OW) and int64 {@code indices} of that shape: each
     * window's maximum (a NaN wins; among ties the first tap in row-major order) and its flat position
     * {@code h * W + w} in the input plane. The padding never wins: a window of -inf reports a position in the input.
     * The gradient needs no entry point of its own: it is a scatter-add at the indices.
     *
     * @param input the input (N, C, H, W)
     * @param spec the window geometry
     * @param out the maxima
     * @param indices the maxima's positions, int64
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
     *
     * @param x the input
     * @param normalizedDims the trailing dimensions normalised over
     * @param weight the scale, or null
     * @param bias the shift, or null
     * @param eps added to the variance
     * @param out the output
     * @param mean the row means, written
     * @param invStd the rows' inverse standard deviations, written
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
     *
     * @param gradOut the gradient of the output
     * @param x the forward pass's input
     * @param normalizedDims the trailing dimensions normalised over
     * @param weight the scale, or null
     * @param mean the row means the forward pass wrote
     * @param invStd the inverse standard deviations it wrote
     * @param gradInput the gradient of x, or null
     * @param gradWeight the gradient of the weight, or null
     * @param gradBias the gradient of the bias, or null
     */
    default void layerNormBackward(View gradOut, View x, int normalizedDims, View weight, View mean, View invStd,
                                   View gradInput, View gradWeight, View gradBias) {
        NormalizationDefaults.layerNormBackward(this, gradOut, x, normalizedDims, weight, mean, invStd, gradInput, gradWeight, gradBias);
    }

    /**
     * Evaluates a {@link FusedProgram} in one pass: {@code inputs} share the iteration shape (broadcast with stride
     * 0, as for every elementwise entry point), {@code outputs} have that shape, or its last axis 1 when the program
     * reduces. An output may be exactly the view of an input (an in-place update) but must not otherwise overlap
     * one. The default ({@link FusedProgramDefaults}) runs one primitive per instruction; backends override it with
     * one kernel per program, cached by the program's value. Arguments are checked with
     * {@link FusedProgram#check}.
     *
     * @param program the program
     * @param scalars its run-time scalars
     * @param inputs its inputs
     * @param outputs its outputs, written
     */
    default void fused(FusedProgram program, double[] scalars, View[] inputs, View[] outputs) {
        FusedProgramDefaults.fused(this, program, scalars, inputs, outputs);
    }

    /**
     * Evaluates one elementwise {@link FusedProgram} over several independent sets of operands, as
     * {@link #fused} would set by set: an optimizer's update of every parameter of a group (PyTorch's
     * {@code _foreach} ops). Each set has its own scalars, inputs and outputs, with the rules of {@link #fused};
     * sets do not overlap one another. The default runs {@link #fused} per set; a backend overrides it to spread
     * all the sets' elements over its threads, or its launches, at once, where many small tensors would each be
     * too small to split.
     *
     * @param program the program, without a reduction
     * @param scalars each set's run-time scalars
     * @param inputs each set's inputs
     * @param outputs each set's outputs, written
     */
    default void fusedForEach(FusedProgram program, java.util.List<double[]> scalars, java.util.List<View[]> inputs,
                              java.util.List<View[]> outputs) {
        for (int i = 0; i < inputs.size(); i++) fused(program, scalars.get(i), inputs.get(i), outputs.get(i));
    }

    /**
     * Scaled dot-product attention of each (batch, head): {@code out = softmax(S) @ value} with scores
     * {@code S = query @ key^T * scale + bias}, the keys {@code spec} hides causally at -inf, and the row statistic
     * {@code logSumExp = log(sum_j exp(S_ij))} written for {@link #attentionBackward}.
     * <ul>
     *   <li>{@code query} (B, H, Sq, D), {@code key} (B, H, Sk, D), {@code value} (B, H, Sk, Dv), {@code out}
     *       (B, H, Sq, Dv), {@code logSumExp} (B, H, Sq): any strides; one floating dtype throughout.</li>
     *   <li>{@code bias}: additive, (B, H, Sq, Sk) with any strides (stride 0 where a mask is broadcast), or null.</li>
     *   <li>A query that sees no key (every score -inf) gets an output of 0 and a {@code logSumExp} of +inf, so
     *       {@code exp(S - logSumExp)} is 0 on its row.</li>
     *   <li>Sq, Sk, D and Dv are at least 1 (the tensor layer handles empty inputs).</li>
     * </ul>
     * The default materialises S ({@link AttentionDefaults}); a backend overrides it with a kernel that keeps tiles
     * of S in fast memory and never holds all of it.
     *
     * @param query the queries
     * @param key the keys
     * @param value the values
     * @param bias the additive bias, or null
     * @param spec the scale and the causal masking
     * @param out the output, written
     * @param logSumExp the rows' log-sum-exp of the scores, written
     */
    default void attention(View query, View key, View value, View bias, AttentionSpec spec, View out, View logSumExp) {
        AttentionDefaults.attention(this, query, key, value, bias, spec, out, logSumExp);
    }

    /**
     * Gradients of {@link #attention} from its output and the {@code logSumExp} it wrote. With
     * {@code P = exp(S - logSumExp)} and {@code dS = P * (gradOut @ value^T - rowsum(gradOut * out))}:
     * {@code gradQuery = dS @ key * scale}, {@code gradKey = dS^T @ query * scale}, {@code gradValue = P^T @ gradOut}.
     * Shapes as for {@link #attention}; gradOut any strides; each gradient (overwritten) may be null when not wanted.
     * The bias gets no gradient here: the tensor layer composes attention when a bias needs one.
     *
     * @param gradOut the gradient of the output
     * @param query the forward pass's queries
     * @param key its keys
     * @param value its values
     * @param bias its bias, or null
     * @param spec its scale and causal masking
     * @param out its output
     * @param logSumExp the row statistic it wrote
     * @param gradQuery the gradient of the queries, or null
     * @param gradKey the gradient of the keys, or null
     * @param gradValue the gradient of the values, or null
     */
    default void attentionBackward(View gradOut, View query, View key, View value, View bias, AttentionSpec spec, View out,
                                   View logSumExp, View gradQuery, View gradKey, View gradValue) {
        AttentionDefaults.attentionBackward(this, gradOut, query, key, value, bias, spec, out, logSumExp, gradQuery, gradKey, gradValue);
    }

    /**
     * One step of a plain LSTM cell over a batch, gates in ONNX's order i, o, f, c: with {@code g = input + recurrent},
     * {@code i, o, f = sigmoid(g_i, g_o, g_f)}, {@code c~ = tanh(g_c)}, {@code cellOut = f * cell + i * c~},
     * {@code tanhCell = tanh(cellOut)}, {@code hiddenOut = o * tanhCell}; {@code gates} receives the activations
     * [i, o, f, c~] that {@link #lstmCellBackward} reads.
     * <ul>
     *   <li>{@code input}, {@code recurrent}, {@code gates}: (B, 4H); {@code cell}, {@code cellOut}, {@code tanhCell},
     *       {@code hiddenOut}: (B, H). Any strides; one floating dtype throughout.</li>
     * </ul>
     * The default composes elementwise primitives ({@link RecurrentDefaults}); a backend overrides it with one pass.
     *
     * @param input the step's projected input with its biases
     * @param recurrent the previous hidden state times the recurrence weight
     * @param cell the previous cell state
     * @param gates the gate activations, written
     * @param cellOut the new cell state, written
     * @param tanhCell tanh of the new cell state, written
     * @param hiddenOut the new hidden state, written
     */
    default void lstmCell(View input, View recurrent, View cell, View gates, View cellOut, View tanhCell, View hiddenOut) {
        RecurrentDefaults.lstmCell(this, input, recurrent, cell, gates, cellOut, tanhCell, hiddenOut);
    }

    /**
     * A plain LSTM direction over a whole sequence: for each step t in turn (from the last to the first if
     * {@code reverse}), {@link #lstmCell}{@code (x[t], h @ recurrentT + bias, c, gates[t], cells[t], tanhCells[t],
     * hidden[t])}, where x is {@code input @ inputWeightT} (or {@code input} itself, already projected, where
     * {@code inputWeightT} is null) and h and c are the previous step's {@code hidden} and {@code cells} entries
     * ({@code h0} and {@code c0} at the first step). One call for the whole sequence lets a backend lay the weights
     * out once and fuse each step's products, the bias and the cell.
     * <ul>
     *   <li>{@code input}: (T, B, I) with {@code inputWeightT} (I, 4H), or (T, B, 4H) with it null; {@code gates}:
     *       (T, B, 4H); {@code cells}, {@code tanhCells}, {@code hidden}: (T, B, H); {@code h0}, {@code c0}: (B, H);
     *       {@code recurrentT}: (H, 4H); {@code bias}: (4H) or null. Any strides; one floating dtype throughout.</li>
     *   <li>{@code gates} and {@code tanhCells} are only written (the backward reads them): where no gradient is
     *       wanted, the caller may pass views that repeat one step's buffer (stride 0 along T).</li>
     * </ul>
     * The default projects the input with one {@link #matmul} over every step, then runs {@link #matmul} and
     * {@link #lstmCell} step by step ({@link RecurrentDefaults}).
     *
     * @param input every step's input, or its projection where {@code inputWeightT} is null
     * @param inputWeightT the input weight, transposed (I, 4H), or null
     * @param bias added to every step's gate pre-activations (the LSTM's two biases summed), or null
     * @param h0 the initial hidden state
     * @param c0 the initial cell state
     * @param recurrentT the recurrence weight, transposed (H, 4H)
     * @param reverse whether the steps run from the last to the first
     * @param gates every step's gate activations, written
     * @param cells every step's new cell state, written
     * @param tanhCells tanh of every step's new cell state, written
     * @param hidden every step's new hidden state, written
     */
    default void lstmSequence(View input, View inputWeightT, View bias, View h0, View c0, View recurrentT, boolean reverse, View gates,
                              View cells, View tanhCells, View hidden) {
        RecurrentDefaults.lstmSequence(this, input, inputWeightT, bias, h0, c0, recurrentT, reverse, gates, cells, tanhCells, hidden);
    }

    /**
     * The backward pass of {@link #lstmSequence}, walking the steps in the opposite order: for each step t, with dh
     * the hidden state's gradient from the step after it (zero at the last) and dc its cell's (at the last,
     * {@code gradCell}), {@link #lstmCellBackward}{@code (gradOutput[t] + dh, dc, gates[t], c, tanhCells[t],
     * gradGates[t], dc)}, where c is the previous step's entry of {@code cells} ({@code c0} at the first step), then
     * {@code dh = gradGates[t] @ recurrentT^T}. What is left in dh and dc at the end goes to {@code gradH0} and
     * {@code gradC0}. One call for the whole sequence lets a backend lay the recurrence weight out once and run each
     * step's cell and product in one hand-off.
     * <ul>
     *   <li>{@code gradOutput}, {@code cells}, {@code tanhCells}: (T, B, H); {@code gates}, {@code gradGates}:
     *       (T, B, 4H); {@code gradCell}, {@code c0}, {@code gradH0}, {@code gradC0}: (B, H); {@code recurrentT}:
     *       (H, 4H). Any strides; one floating dtype throughout.</li>
     * </ul>
     * The default runs {@link #lstmCellBackward} and {@link #matmul} step by step ({@link RecurrentDefaults}).
     *
     * @param gradOutput the gradient of every step's hidden state, as the outputs received it
     * @param gradCell the gradient of the final cell state
     * @param gates every step's gate activations, as {@link #lstmSequence} wrote them
     * @param c0 the initial cell state
     * @param cells every step's cell state, as {@link #lstmSequence} wrote them
     * @param tanhCells every step's tanh of its cell state, as {@link #lstmSequence} wrote them
     * @param recurrentT the recurrence weight, transposed (H, 4H)
     * @param reverse whether the forward steps ran from the last to the first
     * @param gradGates the gradient of every step's gate pre-activations, written
     * @param gradH0 the gradient of the initial hidden state, written
     * @param gradC0 the gradient of the initial cell state, written
     */
    default void lstmSequenceBackward(View gradOutput, View gradCell, View gates, View c0, View cells, View tanhCells, View recurrentT,
                                      boolean reverse, View gradGates, View gradH0, View gradC0) {
        RecurrentDefaults.lstmSequenceBackward(this, gradOutput, gradCell, gates, c0, cells, tanhCells, recurrentT, reverse, gradGates,
                gradH0, gradC0);
    }

    /**
     * Gradients of {@link #lstmCell} from the activations it wrote. With {@code dc = gradCell + gradHidden * o * (1 -
     * tanhCell^2)}: {@code gradGates = [dc * c~ * i(1-i), gradHidden * tanhCell * o(1-o), dc * cell * f(1-f),
     * dc * i * (1 - c~^2)]} (the pre-activations' gradients) and {@code gradCellIn = dc * f}. Shapes as for
     * lstmCell, any strides.
     *
     * @param gradHidden the gradient of the new hidden state
     * @param gradCell the gradient of the new cell state from later steps
     * @param gates the activations lstmCell wrote
     * @param cell the previous cell state
     * @param tanhCell tanh of the new cell state, as lstmCell wrote it
     * @param gradGates the gradient of the gates' pre-activations, written (B, 4H)
     * @param gradCellIn the gradient of the previous cell state, written
     */
    default void lstmCellBackward(View gradHidden, View gradCell, View gates, View cell, View tanhCell, View gradGates, View gradCellIn) {
        RecurrentDefaults.lstmCellBackward(this, gradHidden, gradCell, gates, cell, tanhCell, gradGates, gradCellIn);
    }

    // ---- sorting and scans: defaults compose the primitives, on the device --------------------------------------

    /**
     * Sorts {@code x} along {@code axis}: {@code values} (x's dtype) and int64 {@code indices} (positions in x),
     * both dense and of x's shape. Stable (equal keys keep their order), NaN above every number (last ascending,
     * first descending), as PyTorch's {@code sort(stable=True)}. The default counts ranks with broadcast compares
     * ({@link SortScanDefaults}); backends override it where rows are long.
     *
     * @param x the view sorted
     * @param axis the axis sorted along
     * @param descending whether the largest come first
     * @param values the sorted values written
     * @param indices the int64 positions written
     */
    default void sort(View x, int axis, boolean descending, View values, View indices) {
        SortScanDefaults.sort(this, x, axis, descending, values, indices);
    }

    /**
     * Inclusive prefix sum of {@code x} along {@code axis} into {@code out}.
     *
     * @param x the view summed
     * @param axis the axis summed along
     * @param out the sums written, of x's shape and dtype, dense
     */
    default void cumsum(View x, int axis, View out) {
        SortScanDefaults.cumsum(this, x, axis, out);
    }

    /**
     * Whether {@code entryPoint} (a method name of this interface) gives bit-identical results from run to run on
     * this backend, for the same inputs, device and settings. False for kernels that accumulate with atomics in
     * whatever order threads finish; with {@code Kiln.useDeterministicAlgorithms(true)} the tensor layer refuses
     * those. Every entry point of the CPU and OpenCL backends is deterministic.
     *
     * @param entryPoint a method name of this interface
     * @return whether it is deterministic on this backend
     */

    default boolean isDeterministic(String entryPoint) { return true; }

    /**
     * Whether {@code entryPoint} ({@code "matmul"}, {@code "conv2d"}, {@code "conv2dBackwardInput"} or
     * {@code "conv2dBackwardWeight"}) takes views of the half type {@code dtype} (float16 or bfloat16) for all its
     * operands, accumulating in float32 and rounding the result once (tensor cores, a vendor library). Where it
     * does not, the tensor layer widens the operands to float32 above the SPI and rounds the result, which
     * computes the same thing, so the default (none) is complete; the other entry points never see half views.
     *
     * @param entryPoint one of the four method names above
     * @param dtype float16 or bfloat16
     * @return whether the entry point computes half operands itself on this backend
     */
    default boolean computesHalf(String entryPoint, DType dtype) { return false; }

    // ---- helpers for implementations -----------------------------------------------------------------------

    /**
     * A fresh dense view of a new buffer; callers release it with {@link #release}.
     *
     * @param dtype the element type
     * @param shape the sizes
     * @return the view
     */
    default View allocateView(DType dtype, int... shape) {
        return View.contiguous(allocate(Math.max(1, View.numel(shape)) * dtype.byteSize()), dtype, shape);
    }
}
