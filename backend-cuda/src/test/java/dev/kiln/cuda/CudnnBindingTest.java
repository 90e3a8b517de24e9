package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.MatmulPrecision;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.kernel.KernelRuntime.ConvDirection;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cuDNN binding against a fake cuDNN made of upcall stubs that records what each call received: every symbol is
 * checked when the library is bound, the descriptors get Kiln's dimensions and strides, each direction's ranking and
 * convolution calls get their descriptors and pointers in cuDNN's order, the chosen algorithm and its workspace reach
 * the call, and a failing status comes back as an exception with cuDNN's message.
 */
class CudnnBindingTest {
    private static final Arena STATIC = Arena.ofShared();
    private static final MemorySegment HANDLE = STATIC.allocate(8);
    private static final MemorySegment BAD_PARAM = STATIC.allocateFrom("CUDNN_STATUS_BAD_PARAM");

    private static long version;
    private static int convolveStatus;
    private static final Set<Long> liveDescriptors = new HashSet<>();
    private static final Map<Long, int[]> tensors = new HashMap<>(), filters = new HashMap<>(), convs = new HashMap<>();
    private static final Map<Long, Integer> groups = new HashMap<>(), math = new HashMap<>();
    /** The last ranking call's descriptors (in argument order) and the last convolution's arguments. */
    private static long[] rankedWith;
    private static String convolved;
    /** The pointers and sizes of the last convolution call; its alpha and beta as read during the call. */
    private static Object[] convolveArgs;
    private static double alphaSeen, betaSeen;

    @BeforeEach
    void reset() {
        version = 91900;
        convolveStatus = 0;
        liveDescriptors.clear();
        tensors.clear();
        filters.clear();
        convs.clear();
        groups.clear();
        math.clear();
        rankedWith = null;
        convolved = null;
    }

    static long cudnnGetVersion() { return version; }

    static MemorySegment cudnnGetErrorString(int status) { return status == 2000 ? BAD_PARAM : MemorySegment.NULL; }

    static int cudnnCreate(MemorySegment out) {
        out.reinterpret(8).set(ADDRESS, 0, HANDLE);
        return 0;
    }

    static int cudnnDestroy(MemorySegment handle) { return handle.equals(HANDLE) ? 0 : 2000; }

    static int cudnnSetStream(MemorySegment handle, MemorySegment stream) { return handle.equals(HANDLE) && stream.address() == 0x7000 ? 0 : 2000; }

    static int createDescriptor(MemorySegment out) {
        MemorySegment desc = STATIC.allocate(8);
        liveDescriptors.add(desc.address());
        out.reinterpret(8).set(ADDRESS, 0, desc);
        return 0;
    }

    static int destroyDescriptor(MemorySegment desc) { return liveDescriptors.remove(desc.address()) ? 0 : 2000; }

    static int cudnnSetTensor4dDescriptorEx(MemorySegment d, int type, int n, int c, int h, int w, int ns, int cs, int hs, int ws) {
        tensors.put(d.address(), new int[] {type, n, c, h, w, ns, cs, hs, ws});
        return 0;
    }

    static int cudnnSetFilter4dDescriptor(MemorySegment d, int type, int format, int k, int c, int h, int w) {
        filters.put(d.address(), new int[] {type, format, k, c, h, w});
        return 0;
    }

    static int cudnnSetConvolution2dDescriptor(MemorySegment d, int padH, int padW, int u, int v, int dilH, int dilW, int mode, int compute) {
        convs.put(d.address(), new int[] {padH, padW, u, v, dilH, dilW, mode, compute});
        return 0;
    }

    static int cudnnSetConvolutionGroupCount(MemorySegment d, int count) {
        groups.put(d.address(), count);
        return 0;
    }

    static int cudnnSetConvolutionMathType(MemorySegment d, int type) {
        math.put(d.address(), type);
        return 0;
    }

    /** Ranks two algorithms: a fast non-deterministic tensor-core one first, then a deterministic one. */
    static int rank(MemorySegment handle, MemorySegment a, MemorySegment b, MemorySegment conv, MemorySegment c, int requested,
                    MemorySegment count, MemorySegment perfs) {
        rankedWith = new long[] {a.address(), b.address(), conv.address(), c.address()};
        MemorySegment p = perfs.reinterpret(Cudnn.ALGO_PERF.byteSize() * requested);
        int[][] entries = {{5, 0, 4096, 0, ConvPlanning.TENSOR_OP_MATH}, {1, 0, 256, 1, ConvPlanning.DEFAULT_MATH}};
        for (int i = 0; i < entries.length; i++) {
            long at = i * Cudnn.ALGO_PERF.byteSize();
            p.set(JAVA_INT, at, entries[i][0]);
            p.set(JAVA_INT, at + 4, entries[i][1]);
            p.set(JAVA_FLOAT, at + 8, 0.5f);
            p.set(JAVA_LONG, at + 16, entries[i][2]);
            p.set(JAVA_INT, at + 24, entries[i][3]);
            p.set(JAVA_INT, at + 28, entries[i][4]);
        }
        count.reinterpret(4).set(JAVA_INT, 0, entries.length);
        return handle.equals(HANDLE) && requested == Cudnn.MAX_ALGOS ? 0 : 2000;
    }

    static int cudnnConvolutionForward(MemorySegment h, MemorySegment alpha, MemorySegment d1, MemorySegment p1, MemorySegment d2, MemorySegment p2,
                                       MemorySegment conv, int algo, MemorySegment ws, long wsBytes, MemorySegment beta, MemorySegment d3, MemorySegment p3) {
        return convolve("forward", alpha, d1, p1, d2, p2, conv, algo, ws, wsBytes, beta, d3, p3);
    }

    static int cudnnConvolutionBackwardData(MemorySegment h, MemorySegment alpha, MemorySegment d1, MemorySegment p1, MemorySegment d2, MemorySegment p2,
                                            MemorySegment conv, int algo, MemorySegment ws, long wsBytes, MemorySegment beta, MemorySegment d3, MemorySegment p3) {
        return convolve("backwardData", alpha, d1, p1, d2, p2, conv, algo, ws, wsBytes, beta, d3, p3);
    }

    static int cudnnConvolutionBackwardFilter(MemorySegment h, MemorySegment alpha, MemorySegment d1, MemorySegment p1, MemorySegment d2, MemorySegment p2,
                                              MemorySegment conv, int algo, MemorySegment ws, long wsBytes, MemorySegment beta, MemorySegment d3, MemorySegment p3) {
        return convolve("backwardFilter", alpha, d1, p1, d2, p2, conv, algo, ws, wsBytes, beta, d3, p3);
    }

    private static int convolve(String which, MemorySegment alpha, MemorySegment d1, MemorySegment p1, MemorySegment d2, MemorySegment p2,
                                MemorySegment conv, int algo, MemorySegment ws, long wsBytes, MemorySegment beta, MemorySegment d3, MemorySegment p3) {
        convolved = which;
        // The scaling factors are double for float64 data, float otherwise; the arena holding them is gone after the call.
        int[] described = tensors.containsKey(d1.address()) ? tensors.get(d1.address()) : filters.get(d1.address());
        boolean wide = described[0] == ConvPlanning.DATA_DOUBLE;
        alphaSeen = wide ? alpha.reinterpret(8).get(JAVA_DOUBLE, 0) : alpha.reinterpret(4).get(JAVA_FLOAT, 0);
        betaSeen = wide ? beta.reinterpret(8).get(JAVA_DOUBLE, 0) : beta.reinterpret(4).get(JAVA_FLOAT, 0);
        convolveArgs = new Object[] {alpha, d1.address(), p1.address(), d2.address(), p2.address(), conv.address(), algo, ws.address(), wsBytes,
                beta, d3.address(), p3.address()};
        return convolveStatus;
    }

    private static final FunctionDescriptor CONVOLVE = FunctionDescriptor.of(JAVA_INT,
            ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);
    private static final FunctionDescriptor RANK = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS);
    private static final FunctionDescriptor ONE_POINTER = FunctionDescriptor.of(JAVA_INT, ADDRESS);

    /** The whole fake, less the symbols named in {@code without}. */
    private static NativeLibrary fake(String... without) {
        FakeLibrary lib = new FakeLibrary();
        Class<?> c = CudnnBindingTest.class;
        lib.export("cudnnGetVersion", c, "cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG))
                .export("cudnnGetErrorString", c, "cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT))
                .export("cudnnCreate", c, "cudnnCreate", ONE_POINTER)
                .export("cudnnDestroy", c, "cudnnDestroy", ONE_POINTER)
                .export("cudnnSetStream", c, "cudnnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS))
                .export("cudnnCreateTensorDescriptor", c, "createDescriptor", ONE_POINTER)
                .export("cudnnCreateFilterDescriptor", c, "createDescriptor", ONE_POINTER)
                .export("cudnnCreateConvolutionDescriptor", c, "createDescriptor", ONE_POINTER)
                .export("cudnnDestroyTensorDescriptor", c, "destroyDescriptor", ONE_POINTER)
                .export("cudnnDestroyFilterDescriptor", c, "destroyDescriptor", ONE_POINTER)
                .export("cudnnDestroyConvolutionDescriptor", c, "destroyDescriptor", ONE_POINTER)
                .export("cudnnSetTensor4dDescriptorEx", c, "cudnnSetTensor4dDescriptorEx", FunctionDescriptor.of(JAVA_INT,
                        ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT))
                .export("cudnnSetFilter4dDescriptor", c, "cudnnSetFilter4dDescriptor", FunctionDescriptor.of(JAVA_INT,
                        ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT))
                .export("cudnnSetConvolution2dDescriptor", c, "cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT,
                        ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT))
                .export("cudnnSetConvolutionGroupCount", c, "cudnnSetConvolutionGroupCount", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT))
                .export("cudnnSetConvolutionMathType", c, "cudnnSetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT))
                .export("cudnnGetConvolutionForwardAlgorithm_v7", c, "rank", RANK)
                .export("cudnnGetConvolutionBackwardDataAlgorithm_v7", c, "rank", RANK)
                .export("cudnnGetConvolutionBackwardFilterAlgorithm_v7", c, "rank", RANK)
                .export("cudnnConvolutionForward", c, "cudnnConvolutionForward", CONVOLVE)
                .export("cudnnConvolutionBackwardData", c, "cudnnConvolutionBackwardData", CONVOLVE)
                .export("cudnnConvolutionBackwardFilter", c, "cudnnConvolutionBackwardFilter", CONVOLVE);
        NativeLibrary full = lib.library("libcudnn.so.9");
        Set<String> absent = Set.of(without);
        return new NativeLibrary(full.soname(), full.path(), full.foundBy(),
                name -> absent.contains(name) ? java.util.Optional.empty() : full.lookup().find(name));
    }

    @Test
    void aLibraryLackingFunctionsIsRefusedWithEveryMissingName() {
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class,
                () -> new Cudnn(fake("cudnnConvolutionBackwardFilter", "cudnnSetConvolutionGroupCount")));
        assertTrue(e.getMessage().contains("libcudnn.so.9 (/fake/libcudnn.so.9) lacks 2 of the functions")
                && e.getMessage().contains("cudnnSetConvolutionGroupCount, cudnnConvolutionBackwardFilter"), e.getMessage());
    }

    @Test
    void versionAndHandle() {
        Cudnn cudnn = new Cudnn(fake());
        assertEquals("9.19.0", cudnn.version);
        MemorySegment handle = cudnn.createHandle(0x7000);
        assertEquals(HANDLE, handle);
        cudnn.destroyHandle(handle);
        version = 8907;   // cuDNN 8.9.7's own numbering
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new Cudnn(fake()));
        assertTrue(e.getMessage().contains("8907") && e.getMessage().contains("cuDNN 9"), e.getMessage());
    }

    private static final Conv2dSpec SPEC = new Conv2dSpec(2, 1, 1, 0, 1, 2, 2);
    private static final ConvPlanning.Tensor4 X = ConvPlanning.tensor(new int[] {2, 4, 7, 6}, new long[] {336, 42, 6, 1});
    private static final ConvPlanning.Tensor4 Y = ConvPlanning.tensor(new int[] {2, 6, 4, 2}, new long[] {48, 8, 2, 1});

    private static ConvPlanning.Key key(ConvDirection d, DType t, boolean deterministic) {
        return new ConvPlanning.Key(d, t, X, List.of(6, 2, 3, 3), Y, SPEC, ConvPlanning.mathType(t, MatmulPrecision.HIGHEST), deterministic);
    }

    @Test
    void eachDirectionIsDescribedRankedAndRunWithItsOperandsInCudnnsOrder() {
        Cudnn cudnn = new Cudnn(fake());
        Map<ConvDirection, String> calls = Map.of(ConvDirection.FORWARD, "forward", ConvDirection.BACKWARD_INPUT, "backwardData",
                ConvDirection.BACKWARD_WEIGHT, "backwardFilter");
        for (ConvDirection d : ConvDirection.values()) {
            Cudnn.Plan plan = cudnn.plan(HANDLE, key(d, DType.FLOAT32, true), 1 << 20, "test");
            long x = plan.x.address(), w = plan.w.address(), y = plan.y.address(), conv = plan.conv.address();
            assertArrayEquals(new int[] {ConvPlanning.DATA_FLOAT, 2, 4, 7, 6, 336, 42, 6, 1}, tensors.get(x));
            assertArrayEquals(new int[] {ConvPlanning.DATA_FLOAT, 2, 6, 4, 2, 48, 8, 2, 1}, tensors.get(y));
            assertArrayEquals(new int[] {ConvPlanning.DATA_FLOAT, Cudnn.TENSOR_NCHW, 6, 2, 3, 3}, filters.get(w));
            assertArrayEquals(new int[] {1, 0, 2, 1, 1, 2, Cudnn.CROSS_CORRELATION, ConvPlanning.DATA_FLOAT}, convs.get(conv));
            assertEquals(2, groups.get(conv));
            // Deterministic mode passes over the first-ranked algorithm; the descriptor gets the chosen one's math.
            assertEquals(1, plan.algorithm.algo());
            assertEquals(ConvPlanning.DEFAULT_MATH, math.get(conv));
            long[] expectedRanking = switch (d) {
                case FORWARD -> new long[] {x, w, conv, y};
                case BACKWARD_INPUT -> new long[] {w, y, conv, x};
                case BACKWARD_WEIGHT -> new long[] {x, y, conv, w};
            };
            assertArrayEquals(expectedRanking, rankedWith, d + " ranking arguments");

            cudnn.run(HANDLE, plan, 0x1000, 0x2000, 0x3000, 0x9000, "test");
            assertEquals(calls.get(d), convolved);
            Object[] expected = switch (d) {
                case FORWARD -> new Object[] {x, 0x1000L, w, 0x2000L, conv, 1, 0x9000L, 256L, y, 0x3000L};
                case BACKWARD_INPUT -> new Object[] {w, 0x2000L, y, 0x3000L, conv, 1, 0x9000L, 256L, x, 0x1000L};
                case BACKWARD_WEIGHT -> new Object[] {x, 0x1000L, y, 0x3000L, conv, 1, 0x9000L, 256L, w, 0x2000L};
            };
            Object[] a = convolveArgs;
            assertArrayEquals(expected, new Object[] {a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[10], a[11]}, d + " call arguments");
            assertEquals(1, alphaSeen, "alpha");
            assertEquals(0, betaSeen, "beta: the written operand is overwritten");
            plan.close();
            assertTrue(liveDescriptors.isEmpty(), "the plan's four descriptors are destroyed");
        }
    }

    @Test
    void halfTypesAccumulateInFloat32AndFloat64ScalesInDouble() {
        Cudnn cudnn = new Cudnn(fake());
        Cudnn.Plan half = cudnn.plan(HANDLE, key(ConvDirection.FORWARD, DType.BFLOAT16, false), 1 << 20, "test");
        assertEquals(ConvPlanning.DATA_BFLOAT16, tensors.get(half.x.address())[0]);
        assertEquals(ConvPlanning.DATA_FLOAT, convs.get(half.conv.address())[7], "bfloat16 accumulates in float32");
        assertEquals(5, half.algorithm.algo(), "without deterministic mode, cuDNN's first choice");
        half.close();
        Cudnn.Plan wide = cudnn.plan(HANDLE, key(ConvDirection.FORWARD, DType.FLOAT64, false), 1 << 20, "test");
        assertEquals(ConvPlanning.DATA_DOUBLE, convs.get(wide.conv.address())[7]);
        cudnn.run(HANDLE, wide, 1, 2, 3, 4, "test");
        assertEquals(1.0, alphaSeen, "float64 alpha is read as a double");
        wide.close();
    }

    @Test
    void noQualifyingAlgorithmMeansNoPlanAndNothingLeftAllocated() {
        Cudnn cudnn = new Cudnn(fake());
        assertNull(cudnn.plan(HANDLE, key(ConvDirection.BACKWARD_WEIGHT, DType.FLOAT32, false), 128, "test"), "both need more than 128 bytes");
        assertTrue(liveDescriptors.isEmpty());
    }

    @Test
    void aFailingCallBecomesAnExceptionWithCudnnsMessage() {
        Cudnn cudnn = new Cudnn(fake());
        Cudnn.Plan plan = cudnn.plan(HANDLE, key(ConvDirection.FORWARD, DType.FLOAT32, false), 1 << 20, "test");
        convolveStatus = 2000;
        String context = "conv2d on cuda:0 (fake): float32 input " + X;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> cudnn.run(HANDLE, plan, 1, 2, 3, 4, context));
        assertEquals(context + ": cudnnConvolutionForward failed: CUDNN_STATUS_BAD_PARAM (status 2000)", e.getMessage());
        convolveStatus = 3000;
        IllegalStateException unnamed = assertThrows(IllegalStateException.class, () -> cudnn.run(HANDLE, plan, 1, 2, 3, 4, context));
        assertTrue(unnamed.getMessage().endsWith("failed: status 3000"), unnamed.getMessage());
        plan.close();
    }
}
