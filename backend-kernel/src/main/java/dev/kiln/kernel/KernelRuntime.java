package dev.kiln.kernel;

import dev.kiln.DType;

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

    /** The device: its name, limits and capabilities, fixed for the runtime's life. */
    DeviceInfo device();

    /** A new raw allocation of exactly {@code bytes}, or null when the device is out of memory. */
    M allocate(long bytes);

    /** Returns a raw allocation to the device; issued work that uses it has been ordered before this call. */
    void free(M memory);

    /** Copies all of {@code src} into {@code dst} at a byte offset; {@code src} may be reused when this returns. */
    void copyFromHost(MemorySegment src, M dst, long dstByteOffset);

    /**
     * Copies {@code dst.byteSize()} bytes at a byte offset of {@code src} into {@code dst}, waiting for them. A
     * synchronisation point: when issued work failed, throws {@link IllegalStateException} (see {@link #synchronize}).
     */
    void copyToHost(M src, long srcByteOffset, MemorySegment dst);

    /** A device-to-device copy, issued in order without waiting. */
    void copy(M src, long srcByteOffset, M dst, long dstByteOffset, long bytes);

    /**
     * The program built from {@code source} (the prelude and the family, see {@link KernelSources}) with the
     * build options {@code defines} ({@code -DNAME=value} separated by spaces), compiled at first use and cached.
     * A source that does not build throws {@link IllegalStateException} with the compiler's log.
     */
    Program<M> compile(String family, String source, String defines);

    /**
     * One operand of {@link #vendorGemm}: a row-major {@code rows x cols} matrix per batch item, at element
     * {@code offset} of {@code memory}, with element strides (the batch stride may be 0 for a broadcast operand).
     */
    record GemmOperand<M>(M memory, long offset, long rows, long cols, long rowStride, long colStride, long batchStride) {}

    /**
     * Issues {@code out[i] = a[i] · b[i]} for {@code batch} items through a vendor library (CUDA: cuBLAS) on the
     * stream, without waiting, and returns true; or returns false, having issued nothing, when the runtime has no
     * such library for this dtype and layout, and the backend's own GEMM kernels run. The default has none.
     */
    default boolean vendorGemm(DType dtype, long batch, GemmOperand<M> a, GemmOperand<M> b, GemmOperand<M> out) {
        return false;
    }

    /**
     * Waits until all issued work has run and checks that it did: a launch or copy that failed on the device
     * throws {@link IllegalStateException} here, naming the kernel where the runtime knows it (when debugging).
     */
    void synchronize();

    /**
     * Whether the runtime follows every launch (OpenCL: {@code -Dkiln.opencl.debug=true}); {@link KernelBackend}
     * then also fills released buffers with NaN, so that output of a kernel that never ran shows.
     */
    boolean debugging();

    /** Releases programs, the stream and the context; memory not yet freed goes with the context. */
    void close();

    /** A built program: the entry points of one family compiled with one set of defines. */
    interface Program<M> {
        /** The entry point {@code name}; throws {@link IllegalStateException} when the program has none. */
        Kernel<M> kernel(String name);
    }

    /** One entry point, launched any number of times. */
    interface Kernel<M> {
        String name();

        /** The largest work-group (CUDA: block) this kernel can be launched with on this device. */
        long maxWorkGroupSize();

        /** A launch: the arguments in the kernel's parameter order, then {@link Args#run}. */
        Args<M> args();
    }

    /**
     * The arguments of one launch, set in order. Scalars are passed by value with the C type named; {@code longs}
     * passes a {@code long4} / {@code long8} (4 or 8 int64 values by value).
     */
    interface Args<M> {
        Args<M> i8(byte v);

        Args<M> i16(short v);

        Args<M> i32(int v);

        Args<M> i64(long v);

        Args<M> f32(float v);

        Args<M> f64(double v);

        Args<M> longs(long[] v);

        Args<M> memory(M m);

        /**
         * A work-group-local (CUDA: shared) array of {@code bytes} for this launch. OpenCL passes it as a
         * {@code __local} argument; CUDA carves it from the launch's dynamic shared memory (see the kernels
         * module's dialect notes in backend-kernel's README).
         */
        Args<M> local(long bytes);

        /**
         * Issues the launch over {@code global} work-items per dimension (1 to 3) in groups of {@code local}, or
         * groups the runtime chooses when {@code local} is null; {@code global} is a multiple of {@code local}.
         */
        void run(long[] global, long[] local);
    }
}
