package dev.kiln.kernel;

import dev.kiln.DType;
import dev.kiln.backend.Conv2dSpec;

import java.lang.foreign.MemorySegment;

/**
 * What a device API (OpenCL, CUDA) supplies to {@link KernelBackend}, split the way tinygrad splits a device:
 * raw memory (allocate, free, copies), a compiler (source + defines to a program, cached), and launches (typed
 * arguments, then a 1-D to 3-D grid). Everything else (which kernel, what geometry, the memory pool, the checks)
 * is device-neutral and lives in {@link KernelBackend}.
 *
 * <p>Work is issued to one in-order stream (an OpenCL queue, a CUDA stream): every copy and launch runs after
 * the ones issued before it, and only {@link #copyToHost} and {@link #synchronize} make the host wait. The backend
 * serialises its calls, so an implementation need not be thread-safe.
 *
 * @param <M> the runtime's handle of one raw device allocation (a {@code cl_mem}, a {@code CUdeviceptr})
 */
public interface KernelRuntime<M> {

    /** {@return the device: its name, limits and capabilities, fixed for the runtime's life} */
    DeviceInfo device();

    /**
     * Allocates device memory.
     *
     * @param bytes the size, positive
     * @return a new raw allocation of exactly {@code bytes}, or null when the device is out of memory
     */
    M allocate(long bytes);

    /**
     * Returns a raw allocation to the device; issued work that uses it has been ordered before this call.
     *
     * @param memory an allocation from {@link #allocate}, not used again
     */
    void free(M memory);

    /**
     * Copies all of {@code src} into {@code dst} at a byte offset; {@code src} may be reused when this returns.
     *
     * @param src the host bytes
     * @param dst the device allocation written
     * @param dstByteOffset where in {@code dst} the bytes go
     */
    void copyFromHost(MemorySegment src, M dst, long dstByteOffset);

    /**
     * Copies {@code dst.byteSize()} bytes at a byte offset of {@code src} into {@code dst}, waiting for them. A
     * synchronisation point: when issued work failed, throws {@link IllegalStateException} (see {@link #synchronize}).
     *
     * @param src the device allocation read
     * @param srcByteOffset where in {@code src} the bytes start
     * @param dst the host memory written, all of it
     */
    void copyToHost(M src, long srcByteOffset, MemorySegment dst);

    /**
     * A device-to-device copy, issued in order without waiting.
     *
     * @param src the allocation read
     * @param srcByteOffset where in {@code src} the bytes start
     * @param dst the allocation written
     * @param dstByteOffset where in {@code dst} the bytes go
     * @param bytes how many bytes
     */
    void copy(M src, long srcByteOffset, M dst, long dstByteOffset, long bytes);

    /**
     * The program built from {@code source} (the prelude and the family, see {@link KernelSources}) with the
     * build options {@code defines} ({@code -DNAME=value} separated by spaces), compiled at first use and cached.
     * A source that does not build throws {@link IllegalStateException} with the compiler's log.
     *
     * @param family the kernel family's name, for the cache key and messages
     * @param source the whole source text
     * @param defines the build options
     * @return the program, built or from the cache
     */
    Program<M> compile(String family, String source, String defines);

    /**
     * One operand of {@link #vendorGemm}: a row-major {@code rows x cols} matrix per batch item, at element
     * {@code offset} of {@code memory}, with element strides (the batch stride may be 0 for a broadcast operand).
     *
     * @param <M> the runtime's handle of a raw allocation
     * @param memory the allocation holding the matrix
     * @param offset the first element's index in it
     * @param rows the rows per batch item
     * @param cols the columns per batch item
     * @param rowStride the elements between consecutive rows
     * @param colStride the elements between consecutive columns
     * @param batchStride the elements between consecutive batch items (0: the same matrix for every item)
     */
    record GemmOperand<M>(M memory, long offset, long rows, long cols, long rowStride, long colStride, long batchStride) {}

    /**
     * Issues {@code out[i] = a[i] · b[i]} for {@code batch} items through a vendor library (CUDA: cuBLAS) on the
     * stream, without waiting, and returns true; or returns false, having issued nothing, when the runtime has no
     * such library for this dtype and layout, and the backend's own GEMM kernels run. The default has none.
     *
     * @param dtype the element type of all three operands
     * @param batch the number of batch items
     * @param a the left operands
     * @param b the right operands
     * @param out the products written
     * @return whether the product was issued
     */
    default boolean vendorGemm(DType dtype, long batch, GemmOperand<M> a, GemmOperand<M> b, GemmOperand<M> out) {
        return false;
    }

    /** Which product of a 2-D convolution {@link #vendorConv2d} computes. */
    enum ConvDirection {
        /** {@code y = conv(x, w)}: reads x and w, writes y. */
        FORWARD,
        /** The input gradient: reads y (the output's gradient) and w, writes x (the input's gradient). */
        BACKWARD_INPUT,
        /** The weight gradient: reads x and y (the output's gradient), writes w (the weight's gradient). */
        BACKWARD_WEIGHT
    }

    /**
     * One NCHW operand of {@link #vendorConv2d}: a 4-D tensor at element {@code offset} of {@code memory}.
     *
     * @param <M> the runtime's handle of a raw allocation
     * @param memory the allocation holding the tensor
     * @param offset the first element's index in it
     * @param shape the four sizes
     * @param strides the four element strides
     */
    record ConvOperand<M>(M memory, long offset, int[] shape, long[] strides) {}

    /**
     * Issues one product of a 2-D convolution (no bias) through a vendor library (CUDA: cuDNN) on the stream,
     * without waiting, and returns true; or returns false, having issued nothing, when the runtime has no such
     * library for this dtype, geometry and layout, and the backend's own kernels run. The written operand is
     * overwritten. The default has none.
     *
     * @param direction which product: forward, or the input's or the weight's gradient
     * @param dtype the element type of all three operands
     * @param x the input (N, Cin, H, W), or its gradient
     * @param w the weight (Cout, Cin/groups, KH, KW), or its gradient
     * @param y the output (N, Cout, OH, OW), or its gradient
     * @param spec strides, padding, dilation and groups
     * @return whether the product was issued
     */
    default boolean vendorConv2d(ConvDirection direction, DType dtype, ConvOperand<M> x, ConvOperand<M> w, ConvOperand<M> y, Conv2dSpec spec) {
        return false;
    }

    /**
     * Whether {@link #vendorGemm} ({@code "matmul"}) or {@link #vendorConv2d} ({@code "conv2d"},
     * {@code "conv2dBackwardInput"}, {@code "conv2dBackwardWeight"}) takes operands of the half type {@code dtype},
     * accumulating in float32: see {@link dev.kiln.backend.Backend#computesHalf}. Where a call for such operands
     * returns false anyway (a layout the library does not take), the backend widens them to float32 itself. The
     * default takes none.
     *
     * @param entryPoint the backend entry point
     * @param dtype float16 or bfloat16
     * @return whether the runtime's vendor library computes it
     */
    default boolean computesHalf(String entryPoint, DType dtype) { return false; }

    /**
     * Waits until all issued work has run and checks that it did: a launch or copy that failed on the device
     * throws {@link IllegalStateException} here, naming the kernel where the runtime knows it (when debugging).
     */
    void synchronize();

    /**
     * Whether the runtime follows every launch (OpenCL: {@code -Dkiln.opencl.debug=true}); {@link KernelBackend}
     * then also fills released buffers with NaN, so that output of a kernel that never ran shows.
     *
     * @return whether every launch is followed
     */
    boolean debugging();

    /** Releases programs, the stream and the context; memory not yet freed goes with the context. */
    void close();

    /**
     * A built program: the entry points of one family compiled with one set of defines.
     *
     * @param <M> the runtime's handle of a raw allocation
     */
    interface Program<M> {
        /**
         * An entry point of the program.
         *
         * @param name the function's name in the source
         * @return the entry point
         * @throws IllegalStateException when the program has none of that name
         */
        Kernel<M> kernel(String name);
    }

    /**
     * One entry point, launched any number of times.
     *
     * @param <M> the runtime's handle of a raw allocation
     */
    interface Kernel<M> {
        /** {@return the function's name in the source} */
        String name();

        /** {@return the largest work-group (CUDA: block) this kernel can be launched with on this device} */
        long maxWorkGroupSize();

        /** {@return a new launch: set the arguments in the kernel's parameter order, then {@link Args#run}} */
        Args<M> args();
    }

    /**
     * The arguments of one launch, set in order. Scalars are passed by value with the C type named; {@code longs}
     * passes a {@code long4} / {@code long8} (4 or 8 int64 values by value).
     *
     * @param <M> the runtime's handle of a raw allocation
     */
    interface Args<M> {
        /**
         * Passes a {@code char}.
         *
         * @param v the value
         * @return this launch
         */
        Args<M> i8(byte v);

        /**
         * Passes a {@code short}.
         *
         * @param v the value
         * @return this launch
         */
        Args<M> i16(short v);

        /**
         * Passes an {@code int}.
         *
         * @param v the value
         * @return this launch
         */
        Args<M> i32(int v);

        /**
         * Passes a {@code long} (64 bits).
         *
         * @param v the value
         * @return this launch
         */
        Args<M> i64(long v);

        /**
         * Passes a {@code float}.
         *
         * @param v the value
         * @return this launch
         */
        Args<M> f32(float v);

        /**
         * Passes a {@code double}.
         *
         * @param v the value
         * @return this launch
         */
        Args<M> f64(double v);

        /**
         * Passes a {@code long4} or {@code long8} by value.
         *
         * @param v 4 or 8 values
         * @return this launch
         */
        Args<M> longs(long[] v);

        /**
         * Passes a pointer to device memory ({@code __global} in OpenCL).
         *
         * @param m the allocation
         * @return this launch
         */
        Args<M> memory(M m);

        /**
         * A work-group-local (CUDA: shared) array of {@code bytes} for this launch. OpenCL passes it as a
         * {@code __local} argument; CUDA carves it from the launch's dynamic shared memory (see the kernels
         * module's dialect notes in backend-kernel's README).
         *
         * @param bytes the array's size
         * @return this launch
         */
        Args<M> local(long bytes);

        /**
         * Issues the launch over {@code global} work-items per dimension (1 to 3) in groups of {@code local}, or
         * groups the runtime chooses when {@code local} is null; {@code global} is a multiple of {@code local}.
         *
         * @param global the work-items per dimension
         * @param local the work-group size per dimension, or null
         */

        void run(long[] global, long[] local);
    }
}
