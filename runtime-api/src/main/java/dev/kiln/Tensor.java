package dev.kiln;

import dev.kiln.autograd.Node;
import dev.kiln.backend.Backend;
import dev.kiln.backend.Buffer;
import dev.kiln.backend.View;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * An n-dimensional array on one device: a strided {@link View} over reference-counted device storage, plus the
 * autograd state (whether it requires a gradient, its gradient, the node that produced it).
 *
 * <p>Views ({@link #reshape}, {@link #permute}, {@link #narrow}, {@link #expand}, ...) share storage and copy
 * nothing. Every op validates its arguments and names itself, the shapes, dtypes and devices in its exception.
 * Tensors release device memory on {@link #close()} or when the enclosing {@link Scope} closes; a Cleaner frees
 * what was neither, eventually.
 *
 * <p>Method names follow PyTorch; in-place variants end in an underscore ({@code add_}, {@code zero_}) as there.
 */
public final class Tensor implements AutoCloseable {
    final Storage storage;
    final View view;
    private boolean requiresGrad;
    private Tensor grad;
    private Node gradFn;
    private boolean closed;
    /** The scope that will close this tensor, or null; maintained by {@link Scope}. */
    Scope owner;
    /** The scope that closed this tensor, for the message a later use raises; null while open or closed otherwise. */
    Scope closedBy;

    /** A new handle on {@code storage}, owned by this thread's innermost scope if one is open. */
    Tensor(Storage storage, View view) {
        this(storage, view, true);
    }

    private Tensor(Storage storage, View view, boolean scoped) {
        this.storage = storage;
        this.view = view;
        if (!scoped || !Scope.register(this)) storage.guard();
    }

    /** A new dense tensor with undefined contents. */
    static Tensor allocate(Backend backend, DType dtype, int... shape) {
        Shapes.checkShape("empty", shape);
        long bytes = Math.max(1, Shapes.numel(shape)) * dtype.byteSize();
        Buffer buffer = backend.allocate(bytes);
        return new Tensor(new Storage(backend, buffer), View.contiguous(buffer, dtype, shape.clone()));
    }

    /** A view sharing this tensor's storage. */
    Tensor share(int[] shape, long[] strides, long offset) {
        checkOpen("view");
        storage.retain();
        return new Tensor(storage, view.withShape(shape, strides, offset));
    }

    /**
     * Another handle on the same storage and view, owned by no scope: what autograd nodes keep alive. Views are
     * immutable, so the alias shares this tensor's.
     */
    Tensor retainedAlias() {
        checkOpen("view");
        storage.retain();
        return new Tensor(storage, view, false);
    }

    // ---- creation (see Creation for the full set) -----------------------------------------------------------

    public static Tensor empty(int... shape) { return allocate(Kiln.defaultBackend(), DType.FLOAT32, shape); }

    public static Tensor empty(DType dtype, Device device, int... shape) { return allocate(Kiln.backend(device), dtype, shape); }

    public static Tensor zeros(int... shape) { return Creation.full(0, DType.FLOAT32, null, shape); }

    public static Tensor zeros(DType dtype, Device device, int... shape) { return Creation.full(0, dtype, device, shape); }

    public static Tensor ones(int... shape) { return Creation.full(1, DType.FLOAT32, null, shape); }

    public static Tensor ones(DType dtype, Device device, int... shape) { return Creation.full(1, dtype, device, shape); }

    public static Tensor full(double value, int... shape) { return Creation.full(value, DType.FLOAT32, null, shape); }

    public static Tensor full(double value, DType dtype, Device device, int... shape) { return Creation.full(value, dtype, device, shape); }

    /** A 0-dimensional float32 tensor. */
    public static Tensor scalar(double value) { return Creation.full(value, DType.FLOAT32, null); }

    public static Tensor scalar(double value, DType dtype, Device device) { return Creation.full(value, dtype, device); }

    public static Tensor zerosLike(Tensor t) { return Creation.fullLike(t, 0); }

    public static Tensor onesLike(Tensor t) { return Creation.fullLike(t, 1); }

    public static Tensor fullLike(Tensor t, double value) { return Creation.fullLike(t, value); }

    /** 0, 1, ..., n-1 as int64. */
    public static Tensor arange(long n) { return Creation.arange(0, n, 1, DType.INT64, null); }

    public static Tensor arange(double start, double end, double step, DType dtype, Device device) { return Creation.arange(start, end, step, dtype, device); }

    public static Tensor linspace(double start, double end, int steps) { return Creation.linspace(start, end, steps, DType.FLOAT32, null); }

    public static Tensor linspace(double start, double end, int steps, DType dtype, Device device) { return Creation.linspace(start, end, steps, dtype, device); }

    public static Tensor eye(int n) { return Creation.eye(n, DType.FLOAT32, null); }

    public static Tensor eye(int n, DType dtype, Device device) { return Creation.eye(n, dtype, device); }

    /** A float32 tensor of the given shape over a copy of {@code data}; with no shape, 1-D. */
    public static Tensor of(float[] data, int... shape) { return Creation.fromHost(MemorySegment.ofArray(data), DType.FLOAT32, data.length, shape, null); }

    public static Tensor of(double[] data, int... shape) { return Creation.fromHost(MemorySegment.ofArray(data), DType.FLOAT64, data.length, shape, null); }

    public static Tensor of(int[] data, int... shape) { return Creation.fromHost(MemorySegment.ofArray(data), DType.INT32, data.length, shape, null); }

    public static Tensor of(long[] data, int... shape) { return Creation.fromHost(MemorySegment.ofArray(data), DType.INT64, data.length, shape, null); }

    public static Tensor of(boolean[] data, int... shape) { return Creation.fromBooleans(data, shape, null); }

    /** {@code data} converted to {@code dtype} on {@code device} (null for the default device). */
    public static Tensor of(double[] data, DType dtype, Device device, int... shape) { return Creation.fromDoubles(data, dtype, device, shape); }

    /** Uniform on [0, 1), from the global Philox generator (see {@link Kiln#manualSeed}). */
    public static Tensor rand(int... shape) { return Creation.random(dev.kiln.backend.Distribution.UNIFORM, 0, 1, DType.FLOAT32, null, shape); }

    public static Tensor rand(DType dtype, Device device, int... shape) { return Creation.random(dev.kiln.backend.Distribution.UNIFORM, 0, 1, dtype, device, shape); }

    /** Standard normal. */
    public static Tensor randn(int... shape) { return Creation.random(dev.kiln.backend.Distribution.NORMAL, 0, 1, DType.FLOAT32, null, shape); }

    public static Tensor randn(DType dtype, Device device, int... shape) { return Creation.random(dev.kiln.backend.Distribution.NORMAL, 0, 1, dtype, device, shape); }

    /** Uniform integers in [low, high) as int64. */
    public static Tensor randint(long low, long high, int... shape) {
        if (high <= low) throw new IllegalArgumentException("randint: high (" + high + ") must exceed low (" + low + ")");
        return Creation.random(dev.kiln.backend.Distribution.INTEGER, low, high, DType.INT64, null, shape);
    }

    /** 1 where a uniform draw falls below this tensor's probability, else 0; same shape and dtype. */
    public Tensor bernoulli() { return Creation.bernoulli(this); }

    public static Tensor bernoulli(double p, DType dtype, Device device, int... shape) {
        return Creation.random(dev.kiln.backend.Distribution.BERNOULLI, p, 0, dtype, device, shape);
    }

    // ---- metadata ------------------------------------------------------------------------------------------

    public int[] shape() { return view.shape().clone(); }

    public int size(int dim) { return view.shape()[Shapes.axis("size", dim, dim())]; }

    public int dim() { return view.shape().length; }

    public long numel() { return view.numel(); }

    public DType dtype() { return view.dtype(); }

    public Device device() { return storage.backend.device(); }

    public Backend backend() { return storage.backend; }

    public long[] strides() { return view.strides().clone(); }

    public long offset() { return view.offset(); }

    public boolean isContiguous() { return view.isContiguous(); }

    /** The kernel-level view of this tensor: for backends, tests and benchmarks. */
    public View view() {
        checkOpen("view");
        return view;
    }

    // ---- host transfer -------------------------------------------------------------------------------------

    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        readInto(DType.FLOAT32, MemorySegment.ofArray(out));
        return out;
    }

    public double[] toDoubleArray() {
        double[] out = new double[Math.toIntExact(numel())];
        readInto(DType.FLOAT64, MemorySegment.ofArray(out));
        return out;
    }

    public int[] toIntArray() {
        int[] out = new int[Math.toIntExact(numel())];
        readInto(DType.INT32, MemorySegment.ofArray(out));
        return out;
    }

    public long[] toLongArray() {
        long[] out = new long[Math.toIntExact(numel())];
        readInto(DType.INT64, MemorySegment.ofArray(out));
        return out;
    }

    public boolean[] toBooleanArray() {
        byte[] bytes = new byte[Math.toIntExact(numel())];
        readInto(DType.BOOL, MemorySegment.ofArray(bytes));
        boolean[] out = new boolean[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = bytes[i] != 0;
        return out;
    }

    /** The value of a one-element tensor. */
    public double item() {
        if (numel() != 1) throw new IllegalStateException("item: tensor of shape " + Shapes.str(view.shape()) + " has " + numel() + " elements, not 1");
        return toDoubleArray()[0];
    }

    private void readInto(DType as, MemorySegment dst) {
        checkOpen("read");
        if (numel() == 0) return;
        // Without grad: a recorded cast would keep this tensor alive in a node that no backward pass frees.
        try (dev.kiln.autograd.GradMode ignored = dev.kiln.autograd.GradMode.noGrad();
             Tensor dense = dtype() == as && view.isContiguous() ? null : this.to(as).contiguous()) {
            Tensor src = dense == null ? this : dense;
            storage.backend.copyToHost(src.storage.buffer, src.view.offset() * as.byteSize(), dst);
        }
    }

    /** Copies to another device (through host memory between backends). */
    public Tensor to(Device device) { return Creation.toDevice(this, Kiln.backend(device)); }

    /** Converts to another dtype; differentiable between floating types. */
    public Tensor to(DType dtype) { return Elementwise.cast(this, dtype); }

    // ---- autograd ------------------------------------------------------------------------------------------

    public boolean requiresGrad() { return requiresGrad || gradFn != null; }

    /** Marks a leaf tensor as a parameter whose gradient {@link #backward()} accumulates. Returns this. */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null && !value)
            throw new IllegalStateException("requiresGrad(false) on a non-leaf tensor (produced by " + gradFn.op() + "); use detach()");
        if (value && !dtype().isFloatingPoint())
            throw new IllegalArgumentException("requiresGrad: only floating-point tensors can require gradients, got " + dtype());
        requiresGrad = value;
        return this;
    }

    public Tensor grad() { return grad; }

    /** Replaces the gradient; the tensor set here is owned by this one (closed with it or on the next set). */
    public void setGrad(Tensor g) {
        if (g != null && !java.util.Arrays.equals(g.view.shape(), view.shape()))
            throw new IllegalArgumentException("setGrad: gradient of shape " + Shapes.str(g.view.shape()) + " for a tensor of shape " + Shapes.str(view.shape()));
        if (grad != null && grad != g) grad.close();
        grad = g;
    }

    /** The node that produced this tensor, or null for a leaf. */
    public Node gradFn() { return gradFn; }

    public boolean isLeaf() { return gradFn == null; }

    void attach(Node node) { this.gradFn = node; }

    /** Backpropagates from this scalar, accumulating into the {@code grad} of every leaf that requires one. */
    public void backward() {
        if (numel() != 1)
            throw new IllegalStateException("backward: implicit gradient only for scalar outputs; this has shape " + Shapes.str(view.shape())
                    + ", pass a gradient of that shape");
        try (Tensor seed = Tensor.onesLike(this)) {
            Autograd.backward(this, seed, false);
        }
    }

    public void backward(Tensor gradient) { backward(gradient, false); }

    public void backward(Tensor gradient, boolean retainGraph) { Autograd.backward(this, gradient, retainGraph); }

    /** The same data, cut off from the graph. */
    public Tensor detach() { return share(view.shape(), view.strides(), view.offset()); }

    // ---- views (no copy) ---------------------------------------------------------------------------------

    public Tensor reshape(int... shape) { return ViewOps.reshape(this, shape); }

    /** Like reshape, but only ever a view: fails rather than copy when the strides do not allow it. */
    public Tensor view(int... shape) { return ViewOps.view(this, shape); }

    public Tensor permute(int... dims) { return ViewOps.permute(this, dims); }

    public Tensor transpose(int dim0, int dim1) { return ViewOps.transpose(this, dim0, dim1); }

    /** Transpose of a 2-D tensor (a 0-D or 1-D tensor is returned as is). */
    public Tensor t() { return dim() < 2 ? this : transpose(0, 1); }

    /** Transposes the last two dimensions (PyTorch's {@code mT}). */
    public Tensor mT() { return transpose(-2, -1); }

    public Tensor narrow(int dim, int start, int length) { return ViewOps.narrow(this, dim, start, length); }

    /** Elements start, start+step, ... below end along dim; negative start/end count from the end. */
    public Tensor slice(int dim, int start, int end, int step) { return ViewOps.slice(this, dim, start, end, step); }

    /** Index {@code index} of dimension {@code dim}, which disappears. */
    public Tensor select(int dim, int index) { return ViewOps.select(this, dim, index); }

    public Tensor expand(int... shape) { return ViewOps.expand(this, shape); }

    public Tensor broadcastTo(int... shape) { return ViewOps.expand(this, shape); }

    public Tensor squeeze() { return ViewOps.squeeze(this, null); }

    public Tensor squeeze(int... dims) { return ViewOps.squeeze(this, dims); }

    public Tensor unsqueeze(int dim) { return ViewOps.unsqueeze(this, dim); }

    public Tensor flatten() { return flatten(0, -1); }

    public Tensor flatten(int startDim, int endDim) { return ViewOps.flatten(this, startDim, endDim); }

    /** This tensor if it is dense row-major, else a dense copy. */
    public Tensor contiguous() { return isContiguous() ? this : ViewOps.copy(this); }

    /** A dense copy that shares nothing with this tensor (PyTorch's {@code clone}). */
    public Tensor copy() { return ViewOps.copy(this); }

    public List<Tensor> split(int splitSize, int dim) { return ViewOps.split(this, splitSize, dim); }

    public List<Tensor> chunk(int chunks, int dim) { return ViewOps.chunk(this, chunks, dim); }

    public static Tensor cat(List<Tensor> tensors, int dim) { return ViewOps.cat(tensors, dim); }

    public static Tensor stack(List<Tensor> tensors, int dim) { return ViewOps.stack(tensors, dim); }

    // ---- elementwise -------------------------------------------------------------------------------------

    public Tensor add(Tensor other) { return Elementwise.add(this, other); }
    public Tensor add(double s) { return Elementwise.addScalar(this, s); }
    public Tensor sub(Tensor other) { return Elementwise.sub(this, other); }
    public Tensor sub(double s) { return Elementwise.addScalar(this, -s); }
    public Tensor mul(Tensor other) { return Elementwise.mul(this, other); }
    public Tensor mul(double s) { return Elementwise.mulScalar(this, s); }
    public Tensor div(Tensor other) { return Elementwise.div(this, other); }
    public Tensor div(double s) { return Elementwise.divScalar(this, s); }
    /** {@code s - this}. */
    public Tensor rsub(double s) { return Elementwise.rsubScalar(this, s); }
    public Tensor pow(Tensor exponent) { return Elementwise.pow(this, exponent); }
    public Tensor pow(double exponent) { return Elementwise.powScalar(this, exponent); }
    public Tensor maximum(Tensor other) { return Elementwise.maximum(this, other); }
    public Tensor minimum(Tensor other) { return Elementwise.minimum(this, other); }
    public Tensor remainder(double divisor) { return Elementwise.remainder(this, divisor); }

    public Tensor neg() { return Elementwise.neg(this); }
    public Tensor abs() { return Elementwise.abs(this); }
    public Tensor sign() { return Elementwise.sign(this); }
    public Tensor exp() { return Elementwise.exp(this); }
    public Tensor log() { return Elementwise.log(this); }
    public Tensor sqrt() { return Elementwise.sqrt(this); }
    public Tensor rsqrt() { return Elementwise.rsqrt(this); }
    public Tensor reciprocal() { return Elementwise.reciprocal(this); }
    public Tensor square() { return Elementwise.square(this); }
    public Tensor sin() { return Elementwise.sin(this); }
    public Tensor cos() { return Elementwise.cos(this); }
    public Tensor tanh() { return Elementwise.tanh(this); }
    public Tensor erf() { return Elementwise.erf(this); }
    public Tensor floor() { return Elementwise.floor(this); }
    public Tensor ceil() { return Elementwise.ceil(this); }
    public Tensor round() { return Elementwise.round(this); }
    public Tensor sigmoid() { return Elementwise.sigmoid(this); }
    public Tensor relu() { return Elementwise.relu(this); }
    public Tensor leakyRelu(double negativeSlope) { return Elementwise.leakyRelu(this, negativeSlope); }
    public Tensor elu(double alpha) { return Elementwise.elu(this, alpha); }
    /** Exact GELU, x * Phi(x). */
    public Tensor gelu() { return Elementwise.gelu(this, false); }
    /** GELU with PyTorch's {@code approximate="tanh"} when {@code tanhApproximation}. */
    public Tensor gelu(boolean tanhApproximation) { return Elementwise.gelu(this, tanhApproximation); }
    public Tensor softplus() { return Elementwise.softplus(this); }
    public Tensor silu() { return Elementwise.silu(this); }
    /** Clamps into [min, max]; pass NaN for a missing bound. When min > max every element becomes max. */
    public Tensor clamp(double min, double max) { return Elementwise.clamp(this, min, max); }
    public Tensor isNan() { return Elementwise.isNan(this); }
    public Tensor logicalNot() { return Elementwise.logicalNot(this); }
    public Tensor logicalAnd(Tensor o) { return Elementwise.logical(dev.kiln.backend.BinaryOp.AND, this, o); }
    public Tensor logicalOr(Tensor o) { return Elementwise.logical(dev.kiln.backend.BinaryOp.OR, this, o); }

    /** {@code cond ? a : b}, broadcasting all three. */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) { return Elementwise.where(cond, a, b); }

    public Tensor eq(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.EQ, this, o); }
    public Tensor ne(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.NE, this, o); }
    public Tensor lt(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.LT, this, o); }
    public Tensor le(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.LE, this, o); }
    public Tensor gt(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.GT, this, o); }
    public Tensor ge(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.GE, this, o); }
    public Tensor eq(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.EQ, this, s); }
    public Tensor ne(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.NE, this, s); }
    public Tensor lt(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.LT, this, s); }
    public Tensor le(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.LE, this, s); }
    public Tensor gt(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.GT, this, s); }
    public Tensor ge(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.GE, this, s); }

    // ---- in place (not recorded; refused on tensors that take part in a graph) ------------------------------

    public Tensor add_(Tensor other) { return Elementwise.inPlace("add_", dev.kiln.backend.BinaryOp.ADD, this, other); }
    /** {@code this += alpha * other}. */
    public Tensor add_(Tensor other, double alpha) { return Elementwise.addScaled_(this, other, alpha); }
    public Tensor add_(double s) { return Elementwise.inPlaceScalar("add_", dev.kiln.backend.BinaryOp.ADD, this, s); }
    public Tensor sub_(Tensor other) { return Elementwise.inPlace("sub_", dev.kiln.backend.BinaryOp.SUB, this, other); }
    public Tensor mul_(Tensor other) { return Elementwise.inPlace("mul_", dev.kiln.backend.BinaryOp.MUL, this, other); }
    public Tensor mul_(double s) { return Elementwise.inPlaceScalar("mul_", dev.kiln.backend.BinaryOp.MUL, this, s); }
    public Tensor div_(Tensor other) { return Elementwise.inPlace("div_", dev.kiln.backend.BinaryOp.DIV, this, other); }
    public Tensor div_(double s) { return Elementwise.inPlaceScalar("div_", dev.kiln.backend.BinaryOp.DIV, this, s); }
    public Tensor clamp_(double min, double max) { return Elementwise.clamp_(this, min, max); }
    /** Copies {@code src} (broadcast, cast, from any device) into this tensor. */
    public Tensor copy_(Tensor src) { return Elementwise.copy_(this, src); }
    public Tensor fill_(double value) { return Elementwise.fill_(this, value); }
    public Tensor zero_() { return fill_(0); }

    // ---- reductions --------------------------------------------------------------------------------------

    public Tensor sum() { return Reductions.sum(this, null, false); }
    public Tensor sum(int dim) { return Reductions.sum(this, new int[] {dim}, false); }
    public Tensor sum(int[] dims, boolean keepDim) { return Reductions.sum(this, dims, keepDim); }
    public Tensor mean() { return Reductions.mean(this, null, false); }
    public Tensor mean(int dim) { return Reductions.mean(this, new int[] {dim}, false); }
    public Tensor mean(int[] dims, boolean keepDim) { return Reductions.mean(this, dims, keepDim); }
    public Tensor prod(int[] dims, boolean keepDim) { return Reductions.prod(this, dims, keepDim); }
    /** Variance with Bessel's correction (divides by n - 1), like PyTorch. */
    public Tensor var(int[] dims, boolean keepDim) { return Reductions.var(this, dims, 1, keepDim); }
    /** Variance dividing by n - correction. */
    public Tensor var(int[] dims, int correction, boolean keepDim) { return Reductions.var(this, dims, correction, keepDim); }
    public Tensor std(int[] dims, boolean keepDim) { return Reductions.var(this, dims, 1, keepDim).sqrt(); }
    public Tensor std(int[] dims, int correction, boolean keepDim) { return Reductions.var(this, dims, correction, keepDim).sqrt(); }
    /** Largest element (a 0-d tensor). */
    public Tensor max() { return Reductions.amax(this, null, false); }
    public Tensor min() { return Reductions.amin(this, null, false); }
    /** Largest values over dims; the gradient is shared evenly between ties. */
    public Tensor amax(int[] dims, boolean keepDim) { return Reductions.amax(this, dims, keepDim); }
    public Tensor amin(int[] dims, boolean keepDim) { return Reductions.amin(this, dims, keepDim); }
    /** Largest values along dim and where they are. */
    public ValuesIndices max(int dim, boolean keepDim) { return Reductions.maxWithIndices(this, dim, keepDim, true); }
    public ValuesIndices min(int dim, boolean keepDim) { return Reductions.maxWithIndices(this, dim, keepDim, false); }
    public Tensor argmax(int dim, boolean keepDim) { return Reductions.argReduce(this, dim, keepDim, true); }
    public Tensor argmin(int dim, boolean keepDim) { return Reductions.argReduce(this, dim, keepDim, false); }
    /** Index of the largest element of the flattened tensor. */
    public Tensor argmax() { return Reductions.argReduce(this.reshape(-1), 0, false, true); }
    public Tensor logsumexp(int[] dims, boolean keepDim) { return Reductions.logsumexp(this, dims, keepDim); }
    public Tensor softmax(int dim) { return Reductions.softmax(this, dim, false); }
    public Tensor logSoftmax(int dim) { return Reductions.softmax(this, dim, true); }

    /** Values and int64 indices of a max or min along one dimension. */
    public record ValuesIndices(Tensor values, Tensor indices) {}

    // ---- linear algebra and indexing --------------------------------------------------------------------

    /** Matrix product with PyTorch's rules: 1-D operands, batched operands, broadcast batch dimensions. */
    public Tensor matmul(Tensor other) { return LinearAlgebra.matmul(this, other); }

    /** {@code out[i][j] = this[index[i][j]][j]} for dim 0, and so on. */
    public Tensor gather(int dim, Tensor index) { return Indexing.gather(this, dim, index); }

    public Tensor indexSelect(int dim, Tensor index) { return Indexing.indexSelect(this, dim, index); }

    /** A copy of this tensor with {@code src} added at {@code index} along dim (PyTorch's scatter_add). */
    public Tensor scatterAdd(int dim, Tensor index, Tensor src) { return Indexing.scatterAdd(this, dim, index, src); }

    /** One-hot encoding of an integer tensor: a new last dimension of {@code numClasses}, int64. */
    public Tensor oneHot(int numClasses) { return Indexing.oneHot(this, numClasses); }

    // ---- lifetime ----------------------------------------------------------------------------------------

    /**
     * Releases this handle on the storage; idempotent. A graph node that still needs the data keeps it alive
     * until backward frees the graph, so closing intermediates early is always safe.
     */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (grad != null) grad.close();
        storage.release();
    }

    public boolean isClosed() { return closed; }

    /** {@code op} names the operation in the message (an enum's name is lower-cased only when it fails). */
    void checkOpen(Object op) {
        if (storage.isFreed())
            throw new IllegalStateException(String.valueOf(op).toLowerCase(java.util.Locale.ROOT) + ": tensor of shape " + Shapes.str(view.shape()) + " on " + device() + " was closed"
                    + (closedBy == null ? "" : " " + closedBy.closedTensorAdvice()));
    }

    /**
     * {@return the values as PyTorch prints them} A row per line, summarised with {@code ...} above
     * {@link PrintOptions#threshold()} elements; see {@link Kiln#setPrintOptions}. Reads the values back to the host.
     */
    @Override
    public String toString() { return Printer.format(this); }
}
