package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.kernel.KernelRuntime.ConvDirection;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuDNN 9 bound with {@code java.lang.foreign}, like {@link Cublas}: its legacy convolution API (still in cuDNN 9,
 * where {@code libcudnn.so.9} forwards it to {@code libcudnn_cnn}), which is what Kiln's three convolution entry
 * points map to one for one: descriptors for the input, filter, output and geometry, the heuristics' ranking of
 * algorithms, and the forward, backward-data and backward-filter calls on the stream. Every symbol is looked up
 * when the library is bound, so a library without one of them is refused with all the missing names, not at the
 * first convolution. A status other than success becomes an exception with cuDNN's own message.
 */
final class Cudnn {
    static final List<String> SONAMES = List.of("libcudnn.so.9");
    /** cuDNN 9's shim loads its sub-libraries (graph, ops, cnn, engines, heuristics) by soname when first used. */
    static final List<String> COMPANIONS = List.of("libcudnn_");

    static final int TENSOR_NCHW = 0, CROSS_CORRELATION = 1;
    /** The most algorithms any direction's enum has (forward: 8), so one ranking call returns them all. */
    static final int MAX_ALGOS = 8;
    /** {@code cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t}: the three have this one layout. */
    static final StructLayout ALGO_PERF = MemoryLayout.structLayout(
            JAVA_INT.withName("algo"), JAVA_INT.withName("status"), JAVA_FLOAT.withName("time"), MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("memory"), JAVA_INT.withName("determinism"), JAVA_INT.withName("mathType"),
            MemoryLayout.sequenceLayout(3, JAVA_INT).withName("reserved"), MemoryLayout.paddingLayout(4));

    private static final FunctionDescriptor CREATE = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final FunctionDescriptor DESTROY = FunctionDescriptor.of(JAVA_INT, ADDRESS);
    private static final FunctionDescriptor ALGORITHMS = FunctionDescriptor.of(JAVA_INT,
            ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    /** The three convolutions: handle, alpha, desc, ptr, desc, ptr, conv, algo, workspace, its size, beta, desc, ptr. */
    private static final FunctionDescriptor CONVOLVE = FunctionDescriptor.of(JAVA_INT,
            ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);

    final NativeLibrary library;
    final String version;
    private final MethodHandle getVersion, errorString, create, destroy, setStream;
    private final MethodHandle createTensor, setTensor, destroyTensor, createFilter, setFilter, destroyFilter;
    private final MethodHandle createConv, setConv, setGroups, setMath, destroyConv;
    private final MethodHandle forwardAlgorithms, backwardDataAlgorithms, backwardFilterAlgorithms;
    private final MethodHandle forward, backwardData, backwardFilter;

    Cudnn(NativeLibrary library) {
        this.library = library;
        List<String> missing = new ArrayList<>();
        getVersion = bind(library, missing, "cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
        errorString = bind(library, missing, "cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        create = bind(library, missing, "cudnnCreate", CREATE);
        destroy = bind(library, missing, "cudnnDestroy", DESTROY);
        setStream = bind(library, missing, "cudnnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        createTensor = bind(library, missing, "cudnnCreateTensorDescriptor", CREATE);
        setTensor = bind(library, missing, "cudnnSetTensor4dDescriptorEx", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        destroyTensor = bind(library, missing, "cudnnDestroyTensorDescriptor", DESTROY);
        createFilter = bind(library, missing, "cudnnCreateFilterDescriptor", CREATE);
        setFilter = bind(library, missing, "cudnnSetFilter4dDescriptor", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        destroyFilter = bind(library, missing, "cudnnDestroyFilterDescriptor", DESTROY);
        createConv = bind(library, missing, "cudnnCreateConvolutionDescriptor", CREATE);
        setConv = bind(library, missing, "cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setGroups = bind(library, missing, "cudnnSetConvolutionGroupCount", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        setMath = bind(library, missing, "cudnnSetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        destroyConv = bind(library, missing, "cudnnDestroyConvolutionDescriptor", DESTROY);
        forwardAlgorithms = bind(library, missing, "cudnnGetConvolutionForwardAlgorithm_v7", ALGORITHMS);
        backwardDataAlgorithms = bind(library, missing, "cudnnGetConvolutionBackwardDataAlgorithm_v7", ALGORITHMS);
        backwardFilterAlgorithms = bind(library, missing, "cudnnGetConvolutionBackwardFilterAlgorithm_v7", ALGORITHMS);
        forward = bind(library, missing, "cudnnConvolutionForward", CONVOLVE);
        backwardData = bind(library, missing, "cudnnConvolutionBackwardData", CONVOLVE);
        backwardFilter = bind(library, missing, "cudnnConvolutionBackwardFilter", CONVOLVE);
        if (!missing.isEmpty())
            throw new UnsatisfiedLinkError(library.soname() + " (" + library.path() + ") lacks " + missing.size()
                    + " of the functions of cuDNN 9's convolution API that Kiln uses: " + String.join(", ", missing));
        long v;
        try {
            v = (long) getVersion.invokeExact();
        } catch (Throwable t) {
            throw Nvrtc.rethrow(t);
        }
        // cuDNN 9 numbers itself major * 10000 + minor * 100 + patch (cuDNN 8: major * 1000 + ...).
        version = v / 10000 + "." + v % 10000 / 100 + "." + v % 100;
        if (v / 10000 != 9)
            throw new IllegalStateException(library.soname() + " reports version " + v + "; Kiln binds cuDNN 9's API (9.x.y is 9xxyy)");
    }

    private static MethodHandle bind(NativeLibrary library, List<String> missing, String symbol, FunctionDescriptor descriptor) {
        var address = library.lookup().find(symbol);
        if (address.isEmpty()) {
            missing.add(symbol);
            return null;
        }
        return Linker.nativeLinker().downcallHandle(address.get(), descriptor);
    }

    /** A handle whose work goes to {@code stream}; needs the device's context current on this thread. */
    MemorySegment createHandle(long stream) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check((int) create.invokeExact(out), "cudnnCreate", "cuDNN setup");
            MemorySegment handle = out.get(ADDRESS, 0);
            check((int) setStream.invokeExact(handle, MemorySegment.ofAddress(stream)), "cudnnSetStream", "cuDNN setup");
            return handle;
        } catch (Throwable t) {
            throw Nvrtc.rethrow(t);
        }
    }

    void destroyHandle(MemorySegment handle) {
        try {
            check((int) destroy.invokeExact(handle), "cudnnDestroy", "cuDNN teardown");
        } catch (Throwable t) {
            throw Nvrtc.rethrow(t);
        }
    }

    /**
     * The descriptors and the algorithm of one convolution geometry: made once per {@link ConvPlanning.Key} and
     * reused, as the descriptors are only read by the calls.
     */
    final class Plan implements AutoCloseable {
        final ConvPlanning.Key key;
        final MemorySegment x, w, y, conv;
        final ConvPlanning.AlgoPerf algorithm;

        private Plan(ConvPlanning.Key key, MemorySegment x, MemorySegment w, MemorySegment y, MemorySegment conv, ConvPlanning.AlgoPerf algorithm) {
            this.key = key;
            this.x = x;
            this.w = w;
            this.y = y;
            this.conv = conv;
            this.algorithm = algorithm;
        }

        @Override
        public void close() {
            try {
                check((int) destroyTensor.invokeExact(x), "cudnnDestroyTensorDescriptor", "cuDNN teardown");
                check((int) destroyFilter.invokeExact(w), "cudnnDestroyFilterDescriptor", "cuDNN teardown");
                check((int) destroyTensor.invokeExact(y), "cudnnDestroyTensorDescriptor", "cuDNN teardown");
                check((int) destroyConv.invokeExact(conv), "cudnnDestroyConvolutionDescriptor", "cuDNN teardown");
            } catch (Throwable t) {
                throw Nvrtc.rethrow(t);
            }
        }
    }

    /**
     * Describes the convolution of {@code key} and picks its algorithm from the heuristics' ranking
     * ({@link ConvPlanning#choose}); null, with nothing left allocated, when no ranked algorithm qualifies.
     *
     * @param context what the error message names: the op, shapes, dtype and device
     */
    Plan plan(MemorySegment handle, ConvPlanning.Key key, long workspaceLimit, String context) {
        int type = ConvPlanning.dataType(key.dtype());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment x = created(createTensor, "cudnnCreateTensorDescriptor", arena, context);
            MemorySegment w = created(createFilter, "cudnnCreateFilterDescriptor", arena, context);
            MemorySegment y = created(createTensor, "cudnnCreateTensorDescriptor", arena, context);
            MemorySegment conv = created(createConv, "cudnnCreateConvolutionDescriptor", arena, context);
            Plan plan = new Plan(key, x, w, y, conv, null);
            try {
                describe(x, type, key.x(), context);
                describe(y, type, key.y(), context);
                List<Integer> f = key.w();
                check((int) setFilter.invokeExact(w, type, TENSOR_NCHW, (int) f.get(0), (int) f.get(1), (int) f.get(2), (int) f.get(3)),
                        "cudnnSetFilter4dDescriptor", context);
                var s = key.spec();
                check((int) setConv.invokeExact(conv, s.padH(), s.padW(), s.strideH(), s.strideW(), s.dilationH(), s.dilationW(),
                        CROSS_CORRELATION, ConvPlanning.computeType(key.dtype())), "cudnnSetConvolution2dDescriptor", context);
                check((int) setGroups.invokeExact(conv, s.groups()), "cudnnSetConvolutionGroupCount", context);
                check((int) setMath.invokeExact(conv, key.mathType()), "cudnnSetConvolutionMathType", context);
                ConvPlanning.AlgoPerf chosen = ConvPlanning.choose(ranked(handle, plan, arena, context), workspaceLimit,
                        key.deterministic(), key.mathType());
                if (chosen == null) {
                    plan.close();
                    return null;
                }
                // The chosen algorithm's own math type, as its ranking was made with it.
                check((int) setMath.invokeExact(conv, chosen.mathType()), "cudnnSetConvolutionMathType", context);
                return new Plan(key, x, w, y, conv, chosen);
            } catch (Throwable t) {
                plan.close();
                throw t;
            }
        } catch (Throwable t) {
            throw Nvrtc.rethrow(t);
        }
    }

    private MemorySegment created(MethodHandle creator, String call, Arena arena, String context) throws Throwable {
        MemorySegment out = arena.allocate(ADDRESS);
        check((int) creator.invokeExact(out), call, context);
        return out.get(ADDRESS, 0);
    }

    private void describe(MemorySegment desc, int type, ConvPlanning.Tensor4 t, String context) throws Throwable {
        int[] d = t.dims(), s = t.strides();
        check((int) setTensor.invokeExact(desc, type, d[0], d[1], d[2], d[3], s[0], s[1], s[2], s[3]), "cudnnSetTensor4dDescriptorEx", context);
    }

    /** The heuristics' ranking for the plan's direction, best first. */
    private List<ConvPlanning.AlgoPerf> ranked(MemorySegment handle, Plan p, Arena arena, String context) throws Throwable {
        MemorySegment count = arena.allocate(JAVA_INT), perfs = arena.allocate(ALGO_PERF, MAX_ALGOS);
        switch (p.key.direction()) {
            case FORWARD -> check((int) forwardAlgorithms.invokeExact(handle, p.x, p.w, p.conv, p.y, MAX_ALGOS, count, perfs),
                    "cudnnGetConvolutionForwardAlgorithm_v7", context);
            case BACKWARD_INPUT -> check((int) backwardDataAlgorithms.invokeExact(handle, p.w, p.y, p.conv, p.x, MAX_ALGOS, count, perfs),
                    "cudnnGetConvolutionBackwardDataAlgorithm_v7", context);
            case BACKWARD_WEIGHT -> check((int) backwardFilterAlgorithms.invokeExact(handle, p.x, p.y, p.conv, p.w, MAX_ALGOS, count, perfs),
                    "cudnnGetConvolutionBackwardFilterAlgorithm_v7", context);
        }
        int n = Math.min(count.get(JAVA_INT, 0), MAX_ALGOS);
        List<ConvPlanning.AlgoPerf> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            MemorySegment e = perfs.asSlice(i * ALGO_PERF.byteSize(), ALGO_PERF.byteSize());
            out.add(new ConvPlanning.AlgoPerf(e.get(JAVA_INT, 0), e.get(JAVA_INT, 4), e.get(JAVA_LONG, 16), e.get(JAVA_INT, 24), e.get(JAVA_INT, 28)));
        }
        return out;
    }

    /**
     * Issues the plan's convolution on the handle's stream, overwriting the written operand; never waits.
     *
     * @param x the input's (or its gradient's) device address
     * @param w the weight's (or its gradient's)
     * @param y the output's (or its gradient's)
     * @param workspace device memory of at least the algorithm's workspace size
     * @param context what an error message names
     */
    void run(MemorySegment handle, Plan p, long x, long w, long y, long workspace, String context) {
        try (Arena arena = Arena.ofConfined()) {
            // The scaling factors are float for every data type but double (cuDNN's rule), read before the call returns.
            boolean wide = p.key.dtype() == DType.FLOAT64;
            MemorySegment one = wide ? arena.allocateFrom(JAVA_DOUBLE, 1.0) : arena.allocateFrom(JAVA_FLOAT, 1f);
            MemorySegment zero = wide ? arena.allocateFrom(JAVA_DOUBLE, 0.0) : arena.allocateFrom(JAVA_FLOAT, 0f);
            MemorySegment px = MemorySegment.ofAddress(x), pw = MemorySegment.ofAddress(w), py = MemorySegment.ofAddress(y);
            MemorySegment ws = MemorySegment.ofAddress(workspace);
            int algo = p.algorithm.algo();
            long bytes = p.algorithm.memory();
            switch (p.key.direction()) {
                case FORWARD -> check((int) forward.invokeExact(handle, one, p.x, px, p.w, pw, p.conv, algo, ws, bytes, zero, p.y, py),
                        "cudnnConvolutionForward", context);
                case BACKWARD_INPUT -> check((int) backwardData.invokeExact(handle, one, p.w, pw, p.y, py, p.conv, algo, ws, bytes, zero, p.x, px),
                        "cudnnConvolutionBackwardData", context);
                case BACKWARD_WEIGHT -> check((int) backwardFilter.invokeExact(handle, one, p.x, px, p.y, py, p.conv, algo, ws, bytes, zero, p.w, pw),
                        "cudnnConvolutionBackwardFilter", context);
            }
        } catch (Throwable t) {
            throw Nvrtc.rethrow(t);
        }
    }

    private void check(int status, String call, String context) throws Throwable {
        if (status == 0) return;
        MemorySegment text = (MemorySegment) errorString.invokeExact(status);
        String message = text.equals(MemorySegment.NULL) ? "status " + status : text.reinterpret(Long.MAX_VALUE).getString(0) + " (status " + status + ")";
        throw new IllegalStateException(context + ": " + call + " failed: " + message);
    }

    /** The backend entry point a direction serves, for messages. */
    static String entryPoint(ConvDirection d) {
        return switch (d) {
            case FORWARD -> "conv2d";
            case BACKWARD_INPUT -> "conv2dBackwardInput";
            case BACKWARD_WEIGHT -> "conv2dBackwardWeight";
        };
    }
}
