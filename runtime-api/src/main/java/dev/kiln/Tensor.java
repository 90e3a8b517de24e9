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
        long bytes = Shapes.checkedBytes("allocate", shape, dtype);
        Buffer buffer;
        try {
            buffer = backend.allocate(bytes);
        } catch (dev.kiln.backend.OutOfDeviceMemoryException full) {
            // Tensors dropped without close() may hold most of the memory: collect them, wait for the Cleaner to
            // hand their buffers back, and try once more before failing.
            Storage.collectDropped();
            backend.emptyCache();
            buffer = backend.allocate(bytes);
        }
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

    /**
     * An uninitialised float32 tensor on the default device.
     *
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor empty(int... shape) { return allocate(Kiln.defaultBackend(), DType.FLOAT32, shape); }

    /**
     * An uninitialised tensor.
     *
     * @param dtype the element type
     * @param device the device, or null for the default
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor empty(DType dtype, Device device, int... shape) { return allocate(Kiln.backend(device), dtype, shape); }

    /**
     * Zeros, float32, on the default device.
     *
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor zeros(int... shape) { return Creation.full(0, DType.FLOAT32, null, shape); }

    /**
     * Zeros.
     *
     * @param dtype the element type
     * @param device the device, or null for the default
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor zeros(DType dtype, Device device, int... shape) { return Creation.full(0, dtype, device, shape); }

    /**
     * Ones, float32, on the default device.
     *
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor ones(int... shape) { return Creation.full(1, DType.FLOAT32, null, shape); }

    /**
     * Ones.
     *
     * @param dtype the element type
     * @param device the device, or null for the default
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor ones(DType dtype, Device device, int... shape) { return Creation.full(1, dtype, device, shape); }

    /**
     * A float32 tensor filled with {@code value}, on the default device.
     *
     * @param value the value
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor full(double value, int... shape) { return Creation.full(value, DType.FLOAT32, null, shape); }

    /**
     * A tensor filled with {@code value}.
     *
     * @param value the value
     * @param dtype the element type
     * @param device the device, or null for the default
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor full(double value, DType dtype, Device device, int... shape) { return Creation.full(value, dtype, device, shape); }

    /**
     * A 0-dimensional float32 tensor.
     *
     * @param value the value
     * @return a new tensor
     */
    public static Tensor scalar(double value) { return Creation.full(value, DType.FLOAT32, null); }

    /**
     * A 0-dimensional tensor.
     *
     * @param value the value
     * @param dtype the element type
     * @param device the device, or null for the default
     * @return a new tensor
     */
    public static Tensor scalar(double value, DType dtype, Device device) { return Creation.full(value, dtype, device); }

    /**
     * Zeros of {@code t}'s shape, dtype and device.
     *
     * @param t a tensor whose shape, dtype and device are copied
     * @return a new tensor
     */
    public static Tensor zerosLike(Tensor t) { return Creation.fullLike(t, 0); }

    /**
     * Ones of {@code t}'s shape, dtype and device.
     *
     * @param t a tensor whose shape, dtype and device are copied
     * @return a new tensor
     */
    public static Tensor onesLike(Tensor t) { return Creation.fullLike(t, 1); }

    /**
     * {@code value} in {@code t}'s shape, dtype and device.
     *
     * @param t a tensor whose shape, dtype and device are copied
     * @param value the value
     * @return a new tensor
     */
    public static Tensor fullLike(Tensor t, double value) { return Creation.fullLike(t, value); }

    /**
     * 0, 1, ..., n-1 as int64.
     *
     * @param n the count
     * @return a new tensor
     */
    public static Tensor arange(long n) { return Creation.arange(0, n, 1, DType.INT64, null); }

    /**
     * {@code start, start + step, ...} up to but excluding {@code end}.
     *
     * @param start the first value
     * @param end the bound, excluded
     * @param step the increment, not 0
     * @param dtype the element type
     * @param device the device, or null for the default
     * @return a new tensor
     */
    public static Tensor arange(double start, double end, double step, DType dtype, Device device) { return Creation.arange(start, end, step, dtype, device); }

    /**
     * {@code steps} evenly spaced float32 values from {@code start} to {@code end} inclusive.
     *
     * @param start the first value
     * @param end the last value
     * @param steps the count
     * @return a new tensor
     */
    public static Tensor linspace(double start, double end, int steps) { return Creation.linspace(start, end, steps, DType.FLOAT32, null); }

    /**
     * {@code steps} evenly spaced values from {@code start} to {@code end} inclusive.
     *
     * @param start the first value
     * @param end the last value
     * @param steps the count
     * @param dtype the element type
     * @param device the device, or null for the default
     * @return a new tensor
     */
    public static Tensor linspace(double start, double end, int steps, DType dtype, Device device) { return Creation.linspace(start, end, steps, dtype, device); }

    /**
     * The float32 identity matrix (n, n).
     *
     * @param n the size
     * @return a new tensor
     */
    public static Tensor eye(int n) { return Creation.eye(n, DType.FLOAT32, null); }

    /**
     * The identity matrix (n, n).
     *
     * @param n the size
     * @param dtype the element type
     * @param device the device, or null for the default
     * @return a new tensor
     */
    public static Tensor eye(int n, DType dtype, Device device) { return Creation.eye(n, dtype, device); }

    /**
     * A float32 tensor of the given shape over a copy of {@code data}; with no shape, 1-D.
     *
     * @param data the values, row-major (copied)
     * @param shape the sizes; none for 1-D
     * @return a new tensor
     */
    public static Tensor of(float[] data, int... shape) { return Creation.fromHost(MemorySegment.ofArray(data), DType.FLOAT32, data.length, shape, null); }

    /**
     * A float64 tensor over a copy of {@code data}; with no shape, 1-D.
     *
     * @param data the values, row-major (copied)
     * @param shape the sizes; none for 1-D
     * @return a new tensor
     */
    public static Tensor of(double[] data, int... shape) { return Creation.fromHost(MemorySegment.ofArray(data), DType.FLOAT64, data.length, shape, null); }

    /**
     * An int32 tensor over a copy of {@code data}; with no shape, 1-D.
     *
     * @param data the values, row-major (copied)
     * @param shape the sizes; none for 1-D
     * @return a new tensor
     */
    public static Tensor of(int[] data, int... shape) { return Creation.fromHost(MemorySegment.ofArray(data), DType.INT32, data.length, shape, null); }

    /**
     * An int64 tensor over a copy of {@code data}; with no shape, 1-D.
     *
     * @param data the values, row-major (copied)
     * @param shape the sizes; none for 1-D
     * @return a new tensor
     */
    public static Tensor of(long[] data, int... shape) { return Creation.fromHost(MemorySegment.ofArray(data), DType.INT64, data.length, shape, null); }

    /**
     * A bool tensor over a copy of {@code data}; with no shape, 1-D.
     *
     * @param data the values, row-major (copied)
     * @param shape the sizes; none for 1-D
     * @return a new tensor
     */
    public static Tensor of(boolean[] data, int... shape) { return Creation.fromBooleans(data, shape, null); }

    /**
     * {@code data} converted to {@code dtype} on {@code device} (null for the default device).
     *
     * @param data the values, row-major (copied)
     * @param dtype the element type
     * @param device the device, or null for the default
     * @param shape the sizes; none for 1-D
     * @return a new tensor
     */
    public static Tensor of(double[] data, DType dtype, Device device, int... shape) { return Creation.fromDoubles(data, dtype, device, shape); }

    /**
     * Uniform on [0, 1), from the global Philox generator (see {@link Kiln#manualSeed}).
     *
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor rand(int... shape) { return Creation.random(dev.kiln.backend.Distribution.UNIFORM, 0, 1, DType.FLOAT32, null, shape); }

    /**
     * Uniform on [0, 1), from the global generator.
     *
     * @param dtype the element type
     * @param device the device, or null for the default
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor rand(DType dtype, Device device, int... shape) { return Creation.random(dev.kiln.backend.Distribution.UNIFORM, 0, 1, dtype, device, shape); }

    /**
     * Standard normal.
     *
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor randn(int... shape) { return Creation.random(dev.kiln.backend.Distribution.NORMAL, 0, 1, DType.FLOAT32, null, shape); }

    /**
     * Standard normal, from the global generator.
     *
     * @param dtype the element type
     * @param device the device, or null for the default
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor randn(DType dtype, Device device, int... shape) { return Creation.random(dev.kiln.backend.Distribution.NORMAL, 0, 1, dtype, device, shape); }

    /**
     * Uniform integers in [low, high) as int64.
     *
     * @param low the lowest value
     * @param high the bound, excluded
     * @param shape the sizes
     * @return a new tensor
     * @throws IllegalArgumentException if high does not exceed low
     */
    public static Tensor randint(long low, long high, int... shape) {
        if (high <= low) throw new IllegalArgumentException("randint: high (" + high + ") must exceed low (" + low + ")");
        return Creation.random(dev.kiln.backend.Distribution.INTEGER, low, high, DType.INT64, null, shape);
    }

    /**
     * 1 where a uniform draw falls below this tensor's probability, else 0; same shape and dtype.
     *
     * @return a new tensor of 0s and 1s
     */
    public Tensor bernoulli() { return Creation.bernoulli(this); }

    /**
     * 1 with probability {@code p}, else 0, from the global generator.
     *
     * @param p the probability of 1
     * @param dtype the element type
     * @param device the device, or null for the default
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor bernoulli(double p, DType dtype, Device device, int... shape) {
        return Creation.random(dev.kiln.backend.Distribution.BERNOULLI, p, 0, dtype, device, shape);
    }

    /**
     * Uniform on [0, 1) from {@code generator} (PyTorch's {@code torch.rand(..., generator=)}).
     *
     * @param generator the generator drawn from, or null for the default generator
     * @param dtype the floating element type
     * @param device the device, or null for the default
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor rand(dev.kiln.random.Generator generator, DType dtype, Device device, int... shape) {
        return Creation.random(generator, dev.kiln.backend.Distribution.UNIFORM, 0, 1, dtype, device, shape);
    }

    /**
     * Standard normal from {@code generator} (PyTorch's {@code torch.randn(..., generator=)}).
     *
     * @param generator the generator drawn from, or null for the default generator
     * @param dtype the floating element type
     * @param device the device, or null for the default
     * @param shape the sizes
     * @return a new tensor
     */
    public static Tensor randn(dev.kiln.random.Generator generator, DType dtype, Device device, int... shape) {
        return Creation.random(generator, dev.kiln.backend.Distribution.NORMAL, 0, 1, dtype, device, shape);
    }

    /**
     * Uniform int64 integers in [low, high) from {@code generator} (PyTorch's {@code torch.randint}).
     *
     * @param generator the generator drawn from, or null for the default generator
     * @param low the smallest value drawn
     * @param high one past the largest value drawn
     * @param device the device, or null for the default
     * @param shape the sizes
     * @return a new int64 tensor
     * @throws IllegalArgumentException if {@code high <= low}
     */
    public static Tensor randint(dev.kiln.random.Generator generator, long low, long high, Device device, int... shape) {
        if (high <= low) throw new IllegalArgumentException("randint: high (" + high + ") must exceed low (" + low + ")");
        return Creation.random(generator, dev.kiln.backend.Distribution.INTEGER, low, high, DType.INT64, device, shape);
    }

    /**
     * A random permutation of 0..n-1 (int64) from the default generator, drawn on the default device (PyTorch's
     * {@code torch.randperm}).
     *
     * @param n the number of elements
     * @return a new 1-D int64 tensor of n elements
     */
    public static Tensor randperm(long n) { return Creation.randperm(n, null, null); }

    /**
     * A random permutation of 0..n-1 (int64) from {@code generator} (null: the default one) on {@code device}
     * (null: the default one); the same permutation on every device ({@link dev.kiln.random.Philox#permutation}).
     *
     * @param n the number of elements
     * @param generator the generator drawn from, or null for the default generator
     * @param device the device, or null for the default
     * @return a new 1-D int64 tensor of n elements
     */
    public static Tensor randperm(long n, dev.kiln.random.Generator generator, Device device) { return Creation.randperm(n, generator, device); }

    /**
     * {@link #bernoulli()} drawing from {@code generator}.
     *
     * @param generator the generator drawn from, or null for the default generator
     * @return a new tensor of 0s and 1s, of this shape and dtype
     */
    public Tensor bernoulli(dev.kiln.random.Generator generator) { return Creation.bernoulli(this, generator); }

    // ---- metadata ------------------------------------------------------------------------------------------

    /**
     * {@return the sizes (a copy)}
     */
    public int[] shape() { return view.shape().clone(); }

    /**
     * The size of one dimension.
     *
     * @param dim the dimension (negative counts from the end)
     * @return its size
     */
    public int size(int dim) { return view.shape()[Shapes.axis("size", dim, dim())]; }

    /**
     * {@return the number of dimensions}
     */
    public int dim() { return view.shape().length; }

    /**
     * {@return the number of elements}
     */
    public long numel() { return view.numel(); }

    /**
     * {@return the element type}
     */
    public DType dtype() { return view.dtype(); }

    /**
     * {@return the device the data lives on}
     */
    public Device device() { return storage.backend.device(); }

    /**
     * {@return the backend that holds the data}
     */
    public Backend backend() { return storage.backend; }

    /**
     * {@return the element step of each dimension (a copy)}
     */
    public long[] strides() { return view.strides().clone(); }

    /**
     * {@return the index of the first element in the storage}
     */
    public long offset() { return view.offset(); }

    /**
     * {@return whether the elements are dense and row-major}
     */
    public boolean isContiguous() { return view.isContiguous(); }

    /**
     * {@return how many in-place writes its storage has seen} PyTorch's {@code _version}: shared by every view and
     * alias of the same storage. Autograd records it when it saves a tensor and refuses to backpropagate if it moved.
     */
    public int version() { return storage.version(); }

    /**
     * The kernel-level view of this tensor: for backends, tests and benchmarks.
     *
     * @return the view
     * @throws IllegalStateException if the tensor is closed
     */
    public View view() {
        checkOpen("view");
        return view;
    }

    // ---- host transfer -------------------------------------------------------------------------------------

    /**
     * {@return the values as float, row-major (waits for the device)}
     */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        readInto(DType.FLOAT32, MemorySegment.ofArray(out));
        return out;
    }

    /**
     * {@return the values as double, row-major (waits for the device)}
     */
    public double[] toDoubleArray() {
        double[] out = new double[Math.toIntExact(numel())];
        readInto(DType.FLOAT64, MemorySegment.ofArray(out));
        return out;
    }

    /**
     * {@return the values as int, row-major (waits for the device)}
     */
    public int[] toIntArray() {
        int[] out = new int[Math.toIntExact(numel())];
        readInto(DType.INT32, MemorySegment.ofArray(out));
        return out;
    }

    /**
     * {@return the values as long, row-major (waits for the device)}
     */
    public long[] toLongArray() {
        long[] out = new long[Math.toIntExact(numel())];
        readInto(DType.INT64, MemorySegment.ofArray(out));
        return out;
    }

    /**
     * {@return the values as boolean (not zero), row-major (waits for the device)}
     */
    public boolean[] toBooleanArray() {
        byte[] bytes = new byte[Math.toIntExact(numel())];
        readInto(DType.BOOL, MemorySegment.ofArray(bytes));
        boolean[] out = new boolean[bytes.length];
        for (int i = 0; i < bytes.length; i++) out[i] = bytes[i] != 0;
        return out;
    }

    /**
     * The value of a one-element tensor.
     *
     * @return the value
     * @throws IllegalStateException if the tensor does not have exactly one element
     */
    public double item() {
        if (numel() != 1) throw new IllegalStateException("item: tensor of shape " + Shapes.str(view.shape()) + " has " + numel() + " elements, not 1");
        return toDoubleArray()[0];
    }

    /**
     * Reads this tensor's own dtype back (made dense on the device first if it is strided) and converts on the
     * host, so reading a float32 tensor as doubles never runs a float64 kernel.
     */
    private void readInto(DType as, MemorySegment dst) {
        checkOpen("read");
        long n = numel();
        if (n == 0) return;
        DType own = dtype();
        // Without grad: a recorded copy would keep this tensor alive in a node that no backward pass frees.
        try (dev.kiln.autograd.GradMode ignored = dev.kiln.autograd.GradMode.noGrad();
             Tensor dense = view.isContiguous() ? null : contiguous();
             java.lang.foreign.Arena arena = own == as ? null : java.lang.foreign.Arena.ofConfined()) {
            Tensor src = dense == null ? this : dense;
            MemorySegment raw = arena == null ? dst : arena.allocate(n * own.byteSize(), 8);
            storage.backend.copyToHost(src.storage.buffer, src.view.offset() * own.byteSize(), raw);
            if (arena != null) dev.kiln.backend.HostValues.convert(raw, own, dst, as, n);
        }
    }

    /**
     * Copies to another device (through host memory between backends).
     *
     * @param device the target device, or null for the default
     * @return a new tensor on that device
     */
    public Tensor to(Device device) { return Creation.toDevice(this, Kiln.backend(device)); }

    /**
     * Converts to another dtype; differentiable between floating types.
     *
     * @param dtype the element type
     * @return a new tensor of that dtype (this tensor if it already is)
     */
    public Tensor to(DType dtype) { return Elementwise.cast(this, dtype); }

    // ---- autograd ------------------------------------------------------------------------------------------

    /**
     * {@return whether backward computes a gradient for this tensor or through it}
     */
    public boolean requiresGrad() { return requiresGrad || gradFn != null; }

    /**
     * Marks a leaf tensor as a parameter whose gradient {@link #backward()} accumulates. Returns this.
     *
     * @param value whether to require a gradient
     * @return this tensor
     * @throws IllegalStateException if turning it off on a non-leaf
     * @throws IllegalArgumentException if the dtype is not floating point
     */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null && !value)
            throw new IllegalStateException("requiresGrad(false) on a non-leaf tensor (produced by " + gradFn.op() + "); use detach()");
        if (value && !dtype().isFloatingPoint())
            throw new IllegalArgumentException("requiresGrad: only floating-point tensors can require gradients, got " + dtype());
        requiresGrad = value;
        return this;
    }

    /**
     * {@return the gradient accumulated by backward, or null}
     */
    public Tensor grad() { return grad; }

    /**
     * Replaces the gradient; the tensor set here is owned by this one (closed with it or on the next set).
     *
     * @param g the new gradient, or null
     */
    public void setGrad(Tensor g) {
        if (g != null && !java.util.Arrays.equals(g.view.shape(), view.shape()))
            throw new IllegalArgumentException("setGrad: gradient of shape " + Shapes.str(g.view.shape()) + " for a tensor of shape " + Shapes.str(view.shape()));
        if (grad != null && grad != g) grad.close();
        grad = g;
    }

    /**
     * The node that produced this tensor, or null for a leaf.
     *
     * @return the node, or null for a leaf
     */
    public Node gradFn() { return gradFn; }

    /**
     * {@return whether no recorded op produced this tensor}
     */
    public boolean isLeaf() { return gradFn == null; }

    void attach(Node node) {
        if (gradFn != null) Node.drop(gradFn);
        node.hold();
        gradFn = node;
    }

    /** Backpropagates from this scalar, accumulating into the {@code grad} of every leaf that requires one. */
    public void backward() {
        if (numel() != 1)
            throw new IllegalStateException("backward: implicit gradient only for scalar outputs; this has shape " + Shapes.str(view.shape())
                    + ", pass a gradient of that shape");
        try (Tensor seed = Tensor.onesLike(this)) {
            Autograd.backward(this, seed, false);
        }
    }

    /**
     * Backpropagates {@code gradient}, the gradient of some loss with respect to this tensor; frees the graph.
     *
     * @param gradient of this tensor's shape
     */
    public void backward(Tensor gradient) { backward(gradient, false); }

    /**
     * Backpropagates {@code gradient}.
     *
     * @param gradient of this tensor's shape, or null for a scalar (1)
     * @param retainGraph whether to keep the graph for another backward pass
     */
    public void backward(Tensor gradient, boolean retainGraph) { Autograd.backward(this, gradient, retainGraph); }

    /**
     * The same data, cut off from the graph.
     *
     * @return a view that shares the data
     */
    public Tensor detach() { return share(view.shape(), view.strides(), view.offset()); }

    // ---- views (no copy) ---------------------------------------------------------------------------------

    /**
     * This tensor with another shape: a view when the strides allow, else a copy.
     *
     * @param shape the sizes; one may be -1, inferred
     * @return the reshaped tensor
     */
    public Tensor reshape(int... shape) { return ViewOps.reshape(this, shape); }

    /**
     * Like reshape, but only ever a view: fails rather than copy when the strides do not allow it.
     *
     * @param shape the sizes; one may be -1, inferred
     * @return the view
     */
    public Tensor view(int... shape) { return ViewOps.view(this, shape); }

    /**
     * The dimensions reordered (a view).
     *
     * @param dims the new order
     * @return the view
     */
    public Tensor permute(int... dims) { return ViewOps.permute(this, dims); }

    /**
     * Two dimensions swapped (a view).
     *
     * @param dim0 one dimension
     * @param dim1 the other
     * @return the view
     */
    public Tensor transpose(int dim0, int dim1) { return ViewOps.transpose(this, dim0, dim1); }

    /**
     * Transpose of a 2-D tensor (a 0-D or 1-D tensor is returned as is).
     *
     * @return the view
     */
    public Tensor t() { return dim() < 2 ? this : transpose(0, 1); }

    /**
     * Transposes the last two dimensions (PyTorch's {@code mT}).
     *
     * @return the view
     */
    public Tensor mT() { return transpose(-2, -1); }

    /**
     * Elements {@code start} to {@code start + length} of one dimension (a view).
     *
     * @param dim the dimension (negative counts from the end)
     * @param start the first index
     * @param length how many
     * @return the view
     */
    public Tensor narrow(int dim, int start, int length) { return ViewOps.narrow(this, dim, start, length); }

    /**
     * Elements start, start+step, ... below end along dim; negative start/end count from the end.
     *
     * @param dim the dimension (negative counts from the end)
     * @param start the first index
     * @param end the bound, excluded
     * @param step the stride, positive
     * @return the view
     */
    public Tensor slice(int dim, int start, int end, int step) { return ViewOps.slice(this, dim, start, end, step); }

    /**
     * Index {@code index} of dimension {@code dim}, which disappears.
     *
     * @param dim the dimension (negative counts from the end)
     * @param index the index
     * @return the view
     */
    public Tensor select(int dim, int index) { return ViewOps.select(this, dim, index); }

    /**
     * Size-1 dimensions repeated to {@code shape} without copying (stride 0).
     *
     * @param shape the sizes; -1 keeps a size
     * @return the view
     */
    public Tensor expand(int... shape) { return ViewOps.expand(this, shape); }

    /**
     * As {@link #expand}.
     *
     * @param shape the sizes
     * @return the view
     */
    public Tensor broadcastTo(int... shape) { return ViewOps.expand(this, shape); }

    /**
     * Every size-1 dimension removed (a view).
     *
     * @return the view
     */
    public Tensor squeeze() { return ViewOps.squeeze(this, null); }

    /**
     * The given size-1 dimensions removed (a view).
     *
     * @param dims the dimensions
     * @return the view
     */
    public Tensor squeeze(int... dims) { return ViewOps.squeeze(this, dims); }

    /**
     * A size-1 dimension inserted at {@code dim} (a view).
     *
     * @param dim the dimension (negative counts from the end)
     * @return the view
     */
    public Tensor unsqueeze(int dim) { return ViewOps.unsqueeze(this, dim); }

    /**
     * All dimensions as one.
     *
     * @return the flattened tensor
     */
    public Tensor flatten() { return flatten(0, -1); }

    /**
     * Dimensions {@code startDim} to {@code endDim} as one.
     *
     * @param startDim the first
     * @param endDim the last, inclusive
     * @return the flattened tensor
     */
    public Tensor flatten(int startDim, int endDim) { return ViewOps.flatten(this, startDim, endDim); }

    /**
     * This tensor if it is dense row-major, else a dense copy.
     *
     * @return this tensor, or a dense copy
     */
    public Tensor contiguous() { return isContiguous() ? this : ViewOps.copy(this); }

    /**
     * A dense copy that shares nothing with this tensor (PyTorch's {@code clone}); differentiable.
     *
     * @return the copy
     */
    public Tensor clone() { return ViewOps.copy(this); }

    /**
     * The old name of {@link #clone()}.
     *
     * @return the copy
     * @deprecated use {@link #clone()}, PyTorch's name
     */
    @Deprecated(since = "0.2")
    public Tensor copy() { return clone(); }

    /**
     * Views of {@code splitSize} along {@code dim} (the last may be smaller).
     *
     * @param splitSize the size of each piece
     * @param dim the dimension (negative counts from the end)
     * @return the pieces
     */
    public List<Tensor> split(int splitSize, int dim) { return ViewOps.split(this, splitSize, dim); }

    /**
     * {@code chunks} views along {@code dim}, as equal as possible.
     *
     * @param chunks how many pieces
     * @param dim the dimension (negative counts from the end)
     * @return the pieces
     */
    public List<Tensor> chunk(int chunks, int dim) { return ViewOps.chunk(this, chunks, dim); }

    /**
     * Tensors joined along an existing dimension.
     *
     * @param tensors the tensors, of one dtype and device
     * @param dim the dimension (negative counts from the end)
     * @return a new tensor
     */
    public static Tensor cat(List<Tensor> tensors, int dim) { return ViewOps.cat(tensors, dim); }

    /**
     * Tensors of one shape joined along a new dimension.
     *
     * @param tensors the tensors, of one dtype and device
     * @param dim where the new dimension goes
     * @return a new tensor
     */
    public static Tensor stack(List<Tensor> tensors, int dim) { return ViewOps.stack(tensors, dim); }

    // ---- elementwise -------------------------------------------------------------------------------------

    /**
     * {@code this + other}, broadcast.
     *
     * @param other the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor add(Tensor other) { return Elementwise.add(this, other); }
    /**
     * {@code this + s}.
     *
     * @param s the scalar
     * @return a new tensor
     */
    public Tensor add(double s) { return Elementwise.addScalar(this, s); }
    /**
     * {@code this - other}, broadcast.
     *
     * @param other the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor sub(Tensor other) { return Elementwise.sub(this, other); }
    /**
     * {@code this - s}.
     *
     * @param s the scalar
     * @return a new tensor
     */
    public Tensor sub(double s) { return Elementwise.addScalar(this, -s); }
    /**
     * {@code this * other}, broadcast.
     *
     * @param other the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor mul(Tensor other) { return Elementwise.mul(this, other); }
    /**
     * {@code this * s}.
     *
     * @param s the scalar
     * @return a new tensor
     */
    public Tensor mul(double s) { return Elementwise.mulScalar(this, s); }
    /**
     * {@code this / other}, broadcast.
     *
     * @param other the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor div(Tensor other) { return Elementwise.div(this, other); }
    /**
     * {@code this / s}.
     *
     * @param s the scalar
     * @return a new tensor
     */
    public Tensor div(double s) { return Elementwise.divScalar(this, s); }
    /**
     * {@code s - this}.
     *
     * @param s the scalar
     * @return a new tensor
     */
    public Tensor rsub(double s) { return Elementwise.rsubScalar(this, s); }
    /**
     * {@code this} to the power {@code exponent}, broadcast.
     *
     * @param exponent the exponent
     * @return a new tensor
     */
    public Tensor pow(Tensor exponent) { return Elementwise.pow(this, exponent); }
    /**
     * {@code this} to the power {@code exponent}.
     *
     * @param exponent the exponent
     * @return a new tensor
     */
    public Tensor pow(double exponent) { return Elementwise.powScalar(this, exponent); }
    /**
     * The elementwise maximum (NaN if either is).
     *
     * @param other the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor maximum(Tensor other) { return Elementwise.maximum(this, other); }
    /**
     * The elementwise minimum (NaN if either is).
     *
     * @param other the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor minimum(Tensor other) { return Elementwise.minimum(this, other); }
    /**
     * The floor remainder, with the divisor's sign (Python's {@code %}).
     *
     * @param divisor the divisor
     * @return a new tensor
     */
    public Tensor remainder(double divisor) { return Elementwise.remainder(this, divisor); }

    /**
     * {@code -x}, elementwise.
     *
     * @return a new tensor
     */
    public Tensor neg() { return Elementwise.neg(this); }
    /**
     * {@code |x|}, elementwise.
     *
     * @return a new tensor
     */
    public Tensor abs() { return Elementwise.abs(this); }
    /**
     * -1, 0 or 1 by sign, elementwise.
     *
     * @return a new tensor
     */
    public Tensor sign() { return Elementwise.sign(this); }
    /**
     * {@code e^x}, elementwise.
     *
     * @return a new tensor
     */
    public Tensor exp() { return Elementwise.exp(this); }
    /**
     * The natural logarithm, elementwise.
     *
     * @return a new tensor
     */
    public Tensor log() { return Elementwise.log(this); }
    /**
     * The square root, elementwise.
     *
     * @return a new tensor
     */
    public Tensor sqrt() { return Elementwise.sqrt(this); }
    /**
     * {@code 1 / sqrt(x)}, elementwise.
     *
     * @return a new tensor
     */
    public Tensor rsqrt() { return Elementwise.rsqrt(this); }
    /**
     * {@code 1 / x}, elementwise.
     *
     * @return a new tensor
     */
    public Tensor reciprocal() { return Elementwise.reciprocal(this); }
    /**
     * {@code x * x}, elementwise.
     *
     * @return a new tensor
     */
    public Tensor square() { return Elementwise.square(this); }
    /**
     * The sine, elementwise.
     *
     * @return a new tensor
     */
    public Tensor sin() { return Elementwise.sin(this); }
    /**
     * The cosine, elementwise.
     *
     * @return a new tensor
     */
    public Tensor cos() { return Elementwise.cos(this); }
    /**
     * The hyperbolic tangent, elementwise.
     *
     * @return a new tensor
     */
    public Tensor tanh() { return Elementwise.tanh(this); }
    /**
     * The error function, elementwise.
     *
     * @return a new tensor
     */
    public Tensor erf() { return Elementwise.erf(this); }
    /**
     * Rounded down, elementwise.
     *
     * @return a new tensor
     */
    public Tensor floor() { return Elementwise.floor(this); }
    /**
     * Rounded up, elementwise.
     *
     * @return a new tensor
     */
    public Tensor ceil() { return Elementwise.ceil(this); }
    /**
     * Rounded to the nearest integer, halves to even, elementwise.
     *
     * @return a new tensor
     */
    public Tensor round() { return Elementwise.round(this); }
    /**
     * {@code 1 / (1 + e^-x)}, elementwise.
     *
     * @return a new tensor
     */
    public Tensor sigmoid() { return Elementwise.sigmoid(this); }
    /**
     * {@code max(0, x)}, elementwise.
     *
     * @return a new tensor
     */
    public Tensor relu() { return Elementwise.relu(this); }
    /**
     * {@code x} where positive, else {@code negativeSlope * x}.
     *
     * @param negativeSlope the slope below 0
     * @return a new tensor
     */
    public Tensor leakyRelu(double negativeSlope) { return Elementwise.leakyRelu(this, negativeSlope); }
    /**
     * {@code x} where positive, else {@code alpha (e^x - 1)}.
     *
     * @param alpha the scale below 0
     * @return a new tensor
     */
    public Tensor elu(double alpha) { return Elementwise.elu(this, alpha); }
    /**
     * Exact GELU, x * Phi(x).
     *
     * @return a new tensor
     */
    public Tensor gelu() { return Elementwise.gelu(this, false); }
    /**
     * GELU with PyTorch's {@code approximate="tanh"} when {@code tanhApproximation}.
     *
     * @param tanhApproximation whether to use the tanh approximation
     * @return a new tensor
     */
    public Tensor gelu(boolean tanhApproximation) { return Elementwise.gelu(this, tanhApproximation); }
    /**
     * {@code log(1 + e^x)}, elementwise.
     *
     * @return a new tensor
     */
    public Tensor softplus() { return Elementwise.softplus(this); }
    /**
     * {@code log(1 + exp(beta * x)) / beta}, linear where {@code beta * x > threshold} (PyTorch's defaults: 1, 20).
     *
     * @param beta the sharpness
     * @param threshold above which (in {@code beta * x}) the function is taken as linear
     * @return a new tensor
     */
    public Tensor softplus(double beta, double threshold) { return Elementwise.softplus(this, beta, threshold); }
    /**
     * {@code x * sigmoid(x)}, elementwise.
     *
     * @return a new tensor
     */
    public Tensor silu() { return Elementwise.silu(this); }
    /**
     * Clamps into [min, max]; pass NaN for a missing bound. When min > max every element becomes max.
     *
     * @param min the lower bound
     * @param max the upper bound
     * @return a new tensor
     */
    public Tensor clamp(double min, double max) { return Elementwise.clamp(this, min, max); }
    /**
     * Whether each element is NaN, as bool, elementwise.
     *
     * @return a new tensor
     */
    public Tensor isNan() { return Elementwise.isNan(this); }
    /**
     * Logical not of a bool tensor, elementwise.
     *
     * @return a new tensor
     */
    public Tensor logicalNot() { return Elementwise.logicalNot(this); }
    /**
     * Logical and of bool tensors, broadcast.
     *
     * @param o the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor logicalAnd(Tensor o) { return Elementwise.logical(dev.kiln.backend.BinaryOp.AND, this, o); }
    /**
     * Logical or of bool tensors, broadcast.
     *
     * @param o the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor logicalOr(Tensor o) { return Elementwise.logical(dev.kiln.backend.BinaryOp.OR, this, o); }

    /**
     * {@code cond ? a : b}, broadcasting all three.
     *
     * @param cond the bool condition
     * @param a the values where it holds
     * @param b the values where it does not
     * @return a new tensor
     */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) { return Elementwise.where(cond, a, b); }

    /**
     * Whether {@code this} == {@code o}, as bool, broadcast.
     *
     * @param o the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor eq(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.EQ, this, o); }
    /**
     * Whether {@code this} != {@code o}, as bool, broadcast.
     *
     * @param o the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor ne(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.NE, this, o); }
    /**
     * Whether {@code this} &lt; {@code o}, as bool, broadcast.
     *
     * @param o the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor lt(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.LT, this, o); }
    /**
     * Whether {@code this} &lt;= {@code o}, as bool, broadcast.
     *
     * @param o the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor le(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.LE, this, o); }
    /**
     * Whether {@code this} &gt; {@code o}, as bool, broadcast.
     *
     * @param o the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor gt(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.GT, this, o); }
    /**
     * Whether {@code this} &gt;= {@code o}, as bool, broadcast.
     *
     * @param o the other operand (broadcast)
     * @return a new tensor
     */
    public Tensor ge(Tensor o) { return Elementwise.compare(dev.kiln.backend.BinaryOp.GE, this, o); }
    /**
     * Whether {@code this} == {@code s}, as bool.
     *
     * @param s the scalar
     * @return a new tensor
     */
    public Tensor eq(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.EQ, this, s); }
    /**
     * Whether {@code this} != {@code s}, as bool.
     *
     * @param s the scalar
     * @return a new tensor
     */
    public Tensor ne(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.NE, this, s); }
    /**
     * Whether {@code this} &lt; {@code s}, as bool.
     *
     * @param s the scalar
     * @return a new tensor
     */
    public Tensor lt(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.LT, this, s); }
    /**
     * Whether {@code this} &lt;= {@code s}, as bool.
     *
     * @param s the scalar
     * @return a new tensor
     */
    public Tensor le(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.LE, this, s); }
    /**
     * Whether {@code this} &gt; {@code s}, as bool.
     *
     * @param s the scalar
     * @return a new tensor
     */
    public Tensor gt(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.GT, this, s); }
    /**
     * Whether {@code this} &gt;= {@code s}, as bool.
     *
     * @param s the scalar
     * @return a new tensor
     */
    public Tensor ge(double s) { return Elementwise.compareScalar(dev.kiln.backend.BinaryOp.GE, this, s); }

    // ---- in place (not recorded; refused on tensors that take part in a graph) ------------------------------

    /**
     * Adds {@code other} in place.
     *
     * @param other the other operand (broadcast)
     * @return this tensor
     */
    public Tensor add_(Tensor other) { return Elementwise.inPlace("add_", dev.kiln.backend.BinaryOp.ADD, this, other); }
    /**
     * {@code this += alpha * other}.
     *
     * @param other the other operand (broadcast)
     * @param alpha the factor on other
     * @return this tensor
     */
    public Tensor add_(Tensor other, double alpha) { return Elementwise.addScaled_(this, other, alpha); }
    /**
     * Adds {@code s} in place.
     *
     * @param s the scalar
     * @return this tensor
     */
    public Tensor add_(double s) { return Elementwise.inPlaceScalar("add_", dev.kiln.backend.BinaryOp.ADD, this, s); }
    /**
     * Subtracts {@code other} in place.
     *
     * @param other the other operand (broadcast)
     * @return this tensor
     */
    public Tensor sub_(Tensor other) { return Elementwise.inPlace("sub_", dev.kiln.backend.BinaryOp.SUB, this, other); }
    /**
     * Multiplies by {@code other} in place.
     *
     * @param other the other operand (broadcast)
     * @return this tensor
     */
    public Tensor mul_(Tensor other) { return Elementwise.inPlace("mul_", dev.kiln.backend.BinaryOp.MUL, this, other); }
    /**
     * Multiplies by {@code s} in place.
     *
     * @param s the scalar
     * @return this tensor
     */
    public Tensor mul_(double s) { return Elementwise.inPlaceScalar("mul_", dev.kiln.backend.BinaryOp.MUL, this, s); }
    /**
     * Divides by {@code other} in place.
     *
     * @param other the other operand (broadcast)
     * @return this tensor
     */
    public Tensor div_(Tensor other) { return Elementwise.inPlace("div_", dev.kiln.backend.BinaryOp.DIV, this, other); }
    /**
     * Divides by {@code s} in place.
     *
     * @param s the scalar
     * @return this tensor
     */
    public Tensor div_(double s) { return Elementwise.inPlaceScalar("div_", dev.kiln.backend.BinaryOp.DIV, this, s); }
    /**
     * Clamps into [min, max] in place.
     *
     * @param min the lower bound
     * @param max the upper bound
     * @return this tensor
     */
    public Tensor clamp_(double min, double max) { return Elementwise.clamp_(this, min, max); }
    /**
     * Copies {@code src} (broadcast, cast, from any device) into this tensor.
     *
     * @param src the values, broadcast to this shape
     * @return this tensor
     */
    public Tensor copy_(Tensor src) { return Elementwise.copy_(this, src); }
    /**
     * Sets every element to {@code value}.
     *
     * @param value the value
     * @return this tensor
     */
    public Tensor fill_(double value) { return Elementwise.fill_(this, value); }
    /**
     * Sets every element to 0.
     *
     * @return this tensor
     */
    public Tensor zero_() { return fill_(0); }

    // ---- reductions --------------------------------------------------------------------------------------

    /**
     * The sum of all elements.
     *
     * @return a 0-dimensional tensor
     */
    public Tensor sum() { return Reductions.sum(this, null, false); }
    /**
     * The sum over one dimension.
     *
     * @param dim the dimension (negative counts from the end)
     * @return a new tensor
     */
    public Tensor sum(int dim) { return Reductions.sum(this, new int[] {dim}, false); }
    /**
     * The sum over some dimensions.
     *
     * @param dims the dimensions reduced; empty for all
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return a new tensor
     */
    public Tensor sum(int[] dims, boolean keepDim) { return Reductions.sum(this, dims, keepDim); }
    /**
     * The mean of all elements.
     *
     * @return a 0-dimensional tensor
     */
    public Tensor mean() { return Reductions.mean(this, null, false); }
    /**
     * The mean over one dimension.
     *
     * @param dim the dimension (negative counts from the end)
     * @return a new tensor
     */
    public Tensor mean(int dim) { return Reductions.mean(this, new int[] {dim}, false); }
    /**
     * The mean over some dimensions.
     *
     * @param dims the dimensions reduced; empty for all
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return a new tensor
     */
    public Tensor mean(int[] dims, boolean keepDim) { return Reductions.mean(this, dims, keepDim); }
    /**
     * The product over some dimensions.
     *
     * @param dims the dimensions reduced; empty for all
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return a new tensor
     */
    public Tensor prod(int[] dims, boolean keepDim) { return Reductions.prod(this, dims, keepDim); }
    /**
     * Variance with Bessel's correction (divides by n - 1), like PyTorch.
     *
     * @param dims the dimensions reduced; empty for all
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return a new tensor
     */
    public Tensor var(int[] dims, boolean keepDim) { return Reductions.var(this, dims, 1, keepDim); }
    /**
     * Variance dividing by n - correction.
     *
     * @param dims the dimensions reduced; empty for all
     * @param correction subtracted from the count in the denominator (1: Bessel's correction)
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return a new tensor
     */
    public Tensor var(int[] dims, int correction, boolean keepDim) { return Reductions.var(this, dims, correction, keepDim); }
    /**
     * The standard deviation with Bessel's correction.
     *
     * @param dims the dimensions reduced; empty for all
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return a new tensor
     */
    public Tensor std(int[] dims, boolean keepDim) { return Reductions.var(this, dims, 1, keepDim).sqrt(); }
    /**
     * The standard deviation.
     *
     * @param dims the dimensions reduced; empty for all
     * @param correction subtracted from the count in the denominator (1: Bessel's correction)
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return a new tensor
     */
    public Tensor std(int[] dims, int correction, boolean keepDim) { return Reductions.var(this, dims, correction, keepDim).sqrt(); }
    /**
     * Largest element (a 0-d tensor); an empty tensor is refused, as in PyTorch.
     *
     * @return a 0-dimensional tensor
     */
    public Tensor max() { return Reductions.maxOfAll(this, true); }
    /**
     * The smallest element (NaN if any is); an empty tensor is refused, as in PyTorch.
     *
     * @return a 0-dimensional tensor
     */
    public Tensor min() { return Reductions.maxOfAll(this, false); }
    /**
     * Largest values over dims; the gradient is shared evenly between ties.
     *
     * @param dims the dimensions reduced; empty for all
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return a new tensor
     */
    public Tensor amax(int[] dims, boolean keepDim) { return Reductions.amax(this, dims, keepDim); }
    /**
     * The smallest values over some dimensions.
     *
     * @param dims the dimensions reduced; empty for all
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return a new tensor
     */
    public Tensor amin(int[] dims, boolean keepDim) { return Reductions.amin(this, dims, keepDim); }
    /**
     * Largest values along dim and where they are.
     *
     * @param dim the dimension (negative counts from the end)
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return the values and their int64 indices
     */
    public ValuesIndices max(int dim, boolean keepDim) { return Reductions.maxWithIndices(this, dim, keepDim, true); }
    /**
     * The smallest values along a dimension and where they are.
     *
     * @param dim the dimension (negative counts from the end)
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return the values and their int64 indices
     */
    public ValuesIndices min(int dim, boolean keepDim) { return Reductions.maxWithIndices(this, dim, keepDim, false); }
    /**
     * Where the largest values along a dimension are (first on ties).
     *
     * @param dim the dimension (negative counts from the end)
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return int64 indices
     */
    public Tensor argmax(int dim, boolean keepDim) { return Reductions.argReduce(this, dim, keepDim, true); }
    /**
     * Where the smallest values along a dimension are (first on ties).
     *
     * @param dim the dimension (negative counts from the end)
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return int64 indices
     */
    public Tensor argmin(int dim, boolean keepDim) { return Reductions.argReduce(this, dim, keepDim, false); }
    /**
     * Index of the largest element of the flattened tensor.
     *
     * @return a 0-dimensional int64 tensor
     */
    public Tensor argmax() { return Reductions.argReduce(this.reshape(-1), 0, false, true); }
    /**
     * {@code log(sum(exp(x)))} over some dimensions, computed stably.
     *
     * @param dims the dimensions reduced
     * @param keepDim whether reduced dimensions stay, with size 1
     * @return a new tensor
     */
    public Tensor logsumexp(int[] dims, boolean keepDim) { return Reductions.logsumexp(this, dims, keepDim); }
    /**
     * Softmax along a dimension.
     *
     * @param dim the dimension (negative counts from the end)
     * @return a new tensor
     */
    public Tensor softmax(int dim) { return Reductions.softmax(this, dim, false); }
    /**
     * Log-softmax along a dimension.
     *
     * @param dim the dimension (negative counts from the end)
     * @return a new tensor
     */
    public Tensor logSoftmax(int dim) { return Reductions.softmax(this, dim, true); }

    /**
     * Values and int64 indices of a max or min along one dimension.
     *
     * @param values the values
     * @param indices their int64 indices
     */
    public record ValuesIndices(Tensor values, Tensor indices) {}

    // ---- linear algebra and indexing --------------------------------------------------------------------

    /**
     * Matrix product with PyTorch's rules: 1-D operands, batched operands, broadcast batch dimensions.
     *
     * @param other the right operand
     * @return a new tensor
     */
    public Tensor matmul(Tensor other) { return LinearAlgebra.matmul(this, other); }

    /**
     * {@code out[i][j] = this[index[i][j]][j]} for dim 0, and so on.
     *
     * @param dim the dimension (negative counts from the end)
     * @param index int64 indices, of the output's shape
     * @return a new tensor
     */
    public Tensor gather(int dim, Tensor index) { return Indexing.gather(this, dim, index); }

    /**
     * Whole slices along {@code dim} at {@code index} (PyTorch's {@code index_select}).
     *
     * @param dim the dimension (negative counts from the end)
     * @param index 1-D int64 indices
     * @return a new tensor
     */
    public Tensor indexSelect(int dim, Tensor index) { return Indexing.indexSelect(this, dim, index); }

    /**
     * A copy of this tensor with {@code src} added at {@code index} along dim (PyTorch's scatter_add).
     *
     * @param dim the dimension (negative counts from the end)
     * @param index int64 indices, of src's shape
     * @param src the values added
     * @return a new tensor
     */
    public Tensor scatterAdd(int dim, Tensor index, Tensor src) { return Indexing.scatterAdd(this, dim, index, src); }

    /**
     * One-hot encoding of an integer tensor: a new last dimension of {@code numClasses}, int64.
     *
     * @param numClasses the number of classes
     * @return a new int64 tensor with one more dimension
     */
    public Tensor oneHot(int numClasses) { return Indexing.oneHot(this, numClasses); }

    // ---- sorting, scans, reordering --------------------------------------------------------------------------

    /**
     * Sorted values along dim and their int64 positions; stable, NaN largest; differentiable in the values
     * (PyTorch's {@code sort}).
     *
     * @param dim the dimension (negative counts from the end)
     * @param descending whether the largest come first
     * @return the sorted values and their positions in this tensor
     */
    public ValuesIndices sort(int dim, boolean descending) { return Sorting.sort(this, dim, descending); }

    /** {@return the values sorted ascending along the last dimension, with their positions} */
    public ValuesIndices sort() { return Sorting.sort(this, -1, false); }

    /**
     * The int64 positions that sort this tensor along dim, stably (PyTorch's {@code argsort}).
     *
     * @param dim the dimension (negative counts from the end)
     * @param descending whether the positions of the largest come first
     * @return a new int64 tensor of this shape
     */
    public Tensor argsort(int dim, boolean descending) { return Sorting.argsort(this, dim, descending); }

    /**
     * The k largest ({@code largest}) or smallest elements along dim, sorted, with their positions (PyTorch's
     * {@code topk}).
     *
     * @param k how many elements to keep
     * @param dim the dimension (negative counts from the end)
     * @param largest whether to keep the largest (else the smallest)
     * @return the k values along dim and their int64 positions
     */
    public ValuesIndices topk(int k, int dim, boolean largest) { return Sorting.topk(this, k, dim, largest); }

    /**
     * The k largest along the last dimension, sorted descending.
     *
     * @param k how many elements to keep
     * @return the k values and their int64 positions
     */
    public ValuesIndices topk(int k) { return Sorting.topk(this, k, -1, true); }

    /**
     * Inclusive prefix sums along dim (integers and bools sum as int64); the gradient is the reversed prefix sum
     * (PyTorch's {@code cumsum}).
     *
     * @param dim the dimension (negative counts from the end)
     * @return a new tensor of this shape
     */
    public Tensor cumsum(int dim) { return Sorting.cumsum(this, dim); }

    /**
     * A copy with the order of the elements reversed along each of dims (PyTorch's {@code flip}).
     *
     * @param dims the dimensions reversed (negative counts from the end)
     * @return a new tensor of this shape
     */
    public Tensor flip(int... dims) { return Sorting.flip(this, dims); }

    /**
     * Tiles this tensor {@code repeats[i]} times along dimension i (PyTorch's {@code repeat}, not
     * {@code repeat_interleave}).
     *
     * @param repeats the number of copies along each dimension; more than this tensor's dimensions add leading ones
     * @return a new tensor
     */
    public Tensor repeat(int... repeats) { return CompositeOps.repeat(this, repeats); }

    // ---- masks, predicates, norms ------------------------------------------------------------------------

    /**
     * {@code value} where {@code mask} is true, else this tensor's elements (PyTorch's {@code masked_fill}).
     *
     * @param mask a bool tensor broadcastable to this shape
     * @param value the value written where the mask is true
     * @return a new tensor of this shape and dtype
     */
    public Tensor maskedFill(Tensor mask, double value) { return CompositeOps.maskedFill(this, mask, value); }

    /** {@return a bool tensor, true where the element is neither infinite nor NaN} PyTorch's {@code isfinite}. */
    public Tensor isfinite() { return CompositeOps.isfinite(this); }

    /** {@return whether any element is non-zero, as a 0-d bool tensor} */
    public Tensor any() { return CompositeOps.any(this, null, false); }

    /**
     * Whether any element along dim is non-zero (PyTorch's {@code any(dim, keepdim)}).
     *
     * @param dim the dimension reduced (negative counts from the end)
     * @param keepDim whether the reduced dimension stays, with size 1
     * @return a new bool tensor
     */
    public Tensor any(int dim, boolean keepDim) { return CompositeOps.any(this, new int[] {dim}, keepDim); }

    /** {@return whether every element is non-zero, as a 0-d bool tensor} */
    public Tensor all() { return CompositeOps.all(this, null, false); }

    /**
     * Whether every element along dim is non-zero (PyTorch's {@code all(dim, keepdim)}).
     *
     * @param dim the dimension reduced (negative counts from the end)
     * @param keepDim whether the reduced dimension stays, with size 1
     * @return a new bool tensor
     */
    public Tensor all(int dim, boolean keepDim) { return CompositeOps.all(this, new int[] {dim}, keepDim); }

    /** {@return the 2-norm (Frobenius norm) of all elements, as a 0-d tensor} */
    public Tensor norm() { return CompositeOps.norm(this, 2, null, false); }

    /**
     * The vector p-norm of all elements (PyTorch's {@code norm(p)}).
     *
     * @param p 2, 1, any p &gt; 0, or +-{@link Double#POSITIVE_INFINITY}
     * @return a 0-d tensor
     */
    public Tensor norm(double p) { return CompositeOps.norm(this, p, null, false); }

    /**
     * The vector p-norm over dims; p = 2 over two dims is the Frobenius norm (PyTorch's {@code norm(p, dim, keepdim)}).
     *
     * @param p 2, 1, any p &gt; 0, or +-{@link Double#POSITIVE_INFINITY}
     * @param dims the dimensions reduced (negative counts from the end)
     * @param keepDim whether the reduced dimensions stay, with size 1
     * @return a new tensor
     */
    public Tensor norm(double p, int[] dims, boolean keepDim) { return CompositeOps.norm(this, p, dims, keepDim); }

    /**
     * {@code |this - other| <= atol + rtol * |other|} elementwise, as a bool tensor (PyTorch's {@code isclose}).
     *
     * @param other the tensor compared with, broadcastable with this one
     * @param rtol the relative tolerance
     * @param atol the absolute tolerance
     * @param equalNan whether NaN counts as close to NaN
     * @return a new bool tensor of the broadcast shape
     */
    public Tensor isclose(Tensor other, double rtol, double atol, boolean equalNan) { return CompositeOps.isclose(this, other, rtol, atol, equalNan); }

    /**
     * Whether every element is close to {@code other}'s with PyTorch's defaults rtol 1e-5, atol 1e-8 (reads one
     * value back).
     *
     * @param other the tensor compared with, broadcastable with this one
     * @return whether {@link #isclose} holds everywhere
     */
    public boolean allclose(Tensor other) { return CompositeOps.allclose(this, other, 1e-5, 1e-8, false); }

    /**
     * Whether every element is close to {@code other}'s (PyTorch's {@code allclose}; reads one value back).
     *
     * @param other the tensor compared with, broadcastable with this one
     * @param rtol the relative tolerance
     * @param atol the absolute tolerance
     * @param equalNan whether NaN counts as close to NaN
     * @return whether {@link #isclose} holds everywhere
     */

    public boolean allclose(Tensor other, double rtol, double atol, boolean equalNan) { return CompositeOps.allclose(this, other, rtol, atol, equalNan); }

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
        // The graph behind this tensor stays while a node recorded from it is held (see Node).
        if (gradFn != null) Node.drop(gradFn);
        storage.release();
    }

    /**
     * {@return whether {@link #close()} was called (or a scope closed it)}
     */
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
