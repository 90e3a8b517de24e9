package dev.kiln.cuda;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.kernel.DeviceInfo;
import dev.kiln.kernel.KernelRuntime;
import dev.kiln.kernel.StagingRing;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUfunction_attribute;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Logger;

import static dev.kiln.cuda.CudaDriver.check;

/**
 * One NVIDIA device through JCuda's driver API, under {@link dev.kiln.kernel.KernelBackend}: the device's primary
 * context, one non-blocking stream that every copy, kernel and cuBLAS call goes to in order, stream-ordered
 * allocations ({@code cuMemAllocAsync}) that the backend's size-class pool caches, transfers through page-locked
 * staging buffers, kernels compiled by NVRTC ({@link KernelCompiler}) and launched without waiting. The host waits
 * only in {@link #copyToHost} and {@link #synchronize}; an error of asynchronous work (a kernel's illegal address,
 * say) surfaces there, as an exception naming the device.
 */
public final class CudaRuntime implements KernelRuntime<CudaRuntime.Memory> {
    /** Kernels get at most this much dynamic shared memory without opting in per function. */
    private static final int DEFAULT_SHARED_LIMIT = 48 << 10;
    private static final int CU_STREAM_NON_BLOCKING = 1;
    /** The context last made current on each thread; the driver's current context is per thread. */
    private static final ThreadLocal<CUcontext> CURRENT = new ThreadLocal<>();
    private static final Logger LOG = Logger.getLogger(CudaRuntime.class.getName());
    /**
     * {@code -Dkiln.cuda.debug=true}: wait for every launch, so a kernel that fails is named (without it an
     * asynchronous failure surfaces at the next synchronisation point, without the kernel's name). Slow.
     */
    private static final boolean DEBUG = Boolean.getBoolean("kiln.cuda.debug");

    /** A device allocation: JCuda's pointer, and its address for the libraries bound with java.lang.foreign. */
    public static final class Memory extends CUdeviceptr {
        /** An empty pointer, for {@code cuMemAlloc} to fill. */
        public Memory() {}

        long address() { return getNativePointer(); }
    }

    /** JCuda's stream, with the raw handle cuBLAS is given. */
    private static final class Stream extends CUstream {
        long handle() { return getNativePointer(); }
    }

    private final CudaDriver.DeviceProps props;
    private final DeviceInfo info;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final Stream stream = new Stream();
    private final KernelCompiler compiler;
    private final Cublas cublas;
    private final MemorySegment cublasHandle;
    private final Cudnn cudnn;
    private final MemorySegment cudnnHandle;
    /** cuDNN's descriptors and algorithm per convolution geometry (empty: cuDNN ranked no usable algorithm). */
    private final Map<ConvPlanning.Key, Optional<Cudnn.Plan>> convPlans = new HashMap<>();
    /** One workspace for every cuDNN call, grown on demand: the calls are ordered on the one stream. */
    private Memory workspace;
    private long workspaceBytes;
    private final StagingRing<PinnedStaging.Slot> staging = new StagingRing<>(new PinnedStaging(stream));
    private final List<CUmodule> modules = new ArrayList<>();
    private boolean closed;

    /** Opens the device: retains its primary context, creates the stream and, for cuBLAS and cuDNN when they loaded, a handle on it. */
    CudaRuntime(CudaDriver.DeviceProps props, String description, KernelCompiler compiler, Cublas cublas, Cudnn cudnn) {
        this.props = props;
        this.compiler = compiler;
        this.info = new DeviceInfo(new Device("cuda", props.ordinal()), props.name(), description, true, true,
                "a CUDA device", props.maxThreadsPerBlock(), props.totalMemBytes(), props.totalMemBytes());
        check(JCudaDriver.cuDeviceGet(device, props.ordinal()), "cuDeviceGet");
        check(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        makeCurrent();
        check(JCudaDriver.cuStreamCreate(stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
        cublasHandle = cublas == null ? null : vendorHandle("cuBLAS " + cublas.version, "matmul", () -> cublas.createHandle(stream.handle()));
        this.cublas = cublasHandle == null ? null : cublas;
        cudnnHandle = cudnn == null ? null : vendorHandle("cuDNN " + cudnn.version, "conv2d", () -> cudnn.createHandle(stream.handle()));
        this.cudnn = cudnnHandle == null ? null : cudnn;
    }

    /** A vendor library's handle on the stream, or null (logged) when it cannot be set up and Kiln's kernels run {@code op}. */
    private MemorySegment vendorHandle(String library, String op, Supplier<MemorySegment> create) {
        try {
            return create.get();
        } catch (RuntimeException e) {
            LOG.warning(() -> info.device() + ": " + library + " could not be set up (" + e.getMessage() + "); " + op + " runs on Kiln's kernels");
            return null;
        }
    }

    private void makeCurrent() {
        if (CURRENT.get() == context) return;
        check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent on " + info.device());
        CURRENT.set(context);
    }

    /** Throws naming this device when a driver call failed. */
    private void checkOn(int result, String call) {
        if (result != CUresult.CUDA_SUCCESS)
            throw new IllegalStateException(info.device() + " (" + props.name() + "): " + call + " failed: " + CUresult.stringFor(result));
    }

    @Override
    public DeviceInfo device() { return info; }

    @Override
    public Memory allocate(long bytes) {
        makeCurrent();
        Memory m = new Memory();
        int result = props.memoryPools() ? JCudaDriver.cuMemAllocAsync(m, bytes, stream) : JCudaDriver.cuMemAlloc(m, bytes);
        if (result == CUresult.CUDA_ERROR_OUT_OF_MEMORY) return null;
        checkOn(result, "allocating " + bytes + " bytes");
        return m;
    }

    /** Stream-ordered: the memory is reusable by later work on the stream once the work issued before has run. */
    @Override
    public void free(Memory memory) {
        makeCurrent();
        checkOn(props.memoryPools() ? JCudaDriver.cuMemFreeAsync(memory, stream) : JCudaDriver.cuMemFree(memory), "cuMemFree");
    }

    @Override
    public void copyFromHost(MemorySegment src, Memory dst, long dstByteOffset) {
        makeCurrent();
        staging.upload(src, (slot, offset, pos, n) ->
                checkOn(JCudaDriver.cuMemcpyHtoDAsync(dst.withByteOffset(dstByteOffset + pos), slot.at(offset), n, stream), "cuMemcpyHtoDAsync"));
    }

    @Override
    public void copyToHost(Memory src, long srcByteOffset, MemorySegment dst) {
        makeCurrent();
        staging.download(dst, (slot, offset, pos, n) ->
                checkOn(JCudaDriver.cuMemcpyDtoHAsync(slot.at(offset), src.withByteOffset(srcByteOffset + pos), n, stream), "cuMemcpyDtoHAsync"));
    }

    @Override
    public void copy(Memory src, long srcByteOffset, Memory dst, long dstByteOffset, long bytes) {
        makeCurrent();
        checkOn(JCudaDriver.cuMemcpyDtoDAsync(dst.withByteOffset(dstByteOffset), src.withByteOffset(srcByteOffset), bytes, stream),
                "cuMemcpyDtoDAsync");
    }

    @Override
    public Program<Memory> compile(String family, String source, String defines) {
        byte[] image = compiler.compile(family, source, defines);
        makeCurrent();
        CUmodule module = new CUmodule();
        checkOn(JCudaDriver.cuModuleLoadData(module, image), "loading the " + family + " kernels (" + compiler.target() + ", " + defines.trim() + ")");
        modules.add(module);
        return name -> kernel(module, family, defines, name);
    }

    private Kernel<Memory> kernel(CUmodule module, String family, String defines, String name) {
        makeCurrent();
        CUfunction function = new CUfunction();
        int found = JCudaDriver.cuModuleGetFunction(function, module, name);
        if (found == CUresult.CUDA_ERROR_NOT_FOUND)
            throw new IllegalStateException("CUDA kernel " + name + " not found in " + family + " built with '" + defines.trim() + "'");
        checkOn(found, "cuModuleGetFunction(" + name + ")");
        int[] v = new int[1];
        checkOn(JCudaDriver.cuFuncGetAttribute(v, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, function), "cuFuncGetAttribute");
        return new CudaKernel(function, name, v[0]);
    }

    /** An entry point and the dynamic shared memory it was last allowed (raised on demand past 48 KiB). */
    private final class CudaKernel implements Kernel<Memory> {
        private final CUfunction function;
        private final String name;
        private final int maxThreads;
        private int sharedAllowed = DEFAULT_SHARED_LIMIT;

        CudaKernel(CUfunction function, String name, int maxThreads) {
            this.function = function;
            this.name = name;
            this.maxThreads = maxThreads;
        }

        @Override public String name() { return name; }

        @Override public long maxWorkGroupSize() { return maxThreads; }

        @Override public Args<Memory> args() { return new CudaArgs(this); }

        void launch(List<NativePointerObject> params, long sharedBytes, long[] global, long[] local) {
            long[] groups = local != null ? local : LaunchGeometry.defaultBlock(global, maxThreads);
            long[] grid = LaunchGeometry.grid(name, global, groups, maxThreads), block = LaunchGeometry.block3(groups);
            if (grid[0] * grid[1] * grid[2] == 0) return;
            if (sharedBytes > props.maxSharedBytesPerBlockOptin())
                throw new IllegalStateException("CUDA kernel " + name + " asks for " + sharedBytes + " bytes of shared memory; "
                        + props.name() + " allows " + props.maxSharedBytesPerBlockOptin());
            makeCurrent();
            if (sharedBytes > sharedAllowed) {
                checkOn(JCudaDriver.cuFuncSetAttribute(function, CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                        (int) sharedBytes), "cuFuncSetAttribute(" + name + ", shared " + sharedBytes + ")");
                sharedAllowed = (int) sharedBytes;
            }
            int result = JCudaDriver.cuLaunchKernel(function, (int) grid[0], (int) grid[1], (int) grid[2],
                    (int) block[0], (int) block[1], (int) block[2], (int) sharedBytes, stream,
                    Pointer.to(params.toArray(NativePointerObject[]::new)), null);
            String launch = name + " (grid " + grid[0] + "x" + grid[1] + "x" + grid[2] + ", block "
                    + block[0] + "x" + block[1] + "x" + block[2] + ", shared " + sharedBytes + " bytes)";
            checkOn(result, "launching " + launch);
            if (DEBUG) checkOn(JCudaDriver.cuStreamSynchronize(stream), "running " + launch + " (kiln.cuda.debug)");
        }
    }

    /**
     * A launch's parameters, each a pointer to its value as cuLaunchKernel takes them; the values are copied by the
     * driver at launch. A local (shared) array is carved from the launch's dynamic shared memory; the kernel receives
     * its byte offset there (see the kernels module's dialect.cl).
     */
    private static final class CudaArgs implements Args<Memory> {
        private static final int SHARED_ALIGN = 16;
        private final CudaKernel kernel;
        private final List<NativePointerObject> params = new ArrayList<>();
        private long sharedBytes;

        CudaArgs(CudaKernel kernel) { this.kernel = kernel; }

        private Args<Memory> add(Pointer value) {
            params.add(value);
            return this;
        }

        @Override public Args<Memory> i8(byte v) { return add(Pointer.to(new byte[] {v})); }

        @Override public Args<Memory> i16(short v) { return add(Pointer.to(new short[] {v})); }

        @Override public Args<Memory> i32(int v) { return add(Pointer.to(new int[] {v})); }

        @Override public Args<Memory> i64(long v) { return add(Pointer.to(new long[] {v})); }

        @Override public Args<Memory> f32(float v) { return add(Pointer.to(new float[] {v})); }

        @Override public Args<Memory> f64(double v) { return add(Pointer.to(new double[] {v})); }

        @Override public Args<Memory> longs(long[] v) { return add(Pointer.to(v.clone())); }

        @Override public Args<Memory> memory(Memory m) { return add(Pointer.to(m)); }

        /** The kernels' dialect (LOCAL_ARG / BIND_LOCAL) takes the array's offset as a 32-bit unsigned value. */
        @Override
        public Args<Memory> local(long bytes) {
            long offset = (sharedBytes + SHARED_ALIGN - 1) / SHARED_ALIGN * SHARED_ALIGN;
            sharedBytes = offset + bytes;
            return i32((int) offset);
        }

        @Override
        public void run(long[] global, long[] local) { kernel.launch(params, sharedBytes, global, local); }
    }

    /**
     * cuBLAS for float matrix products whose operands have a cuBLAS layout (see {@link GemmMapping}), half types
     * included with float32 accumulation where {@link #computesHalf} says so; false (nothing issued) without cuBLAS,
     * for other dtypes or layouts, and the backend's own kernels run (half operands widened to float32 first).
     */
    @Override
    public boolean vendorGemm(DType t, long batch, GemmOperand<Memory> a, GemmOperand<Memory> b, GemmOperand<Memory> out) {
        // k = 0 is left to the kernels, which write the zeros without relying on cuBLAS's beta handling.
        if (cublas == null || Cublas.dataType(t) < 0 || batch > Integer.MAX_VALUE || a.cols() == 0) return false;
        if (!t.isComputeType() && !computesHalf("matmul", t)) return false;
        GemmMapping g = GemmMapping.of((int) batch, operand(a), operand(b), operand(out));
        if (g == null) return false;
        makeCurrent();
        long es = t.byteSize();
        cublas.gemm(cublasHandle, g, t, Kiln.float32MatmulPrecision(), a.memory().address() + a.offset() * es,
                b.memory().address() + b.offset() * es, out.memory().address() + out.offset() * es);
        return true;
    }

    private static GemmMapping.Operand operand(GemmOperand<Memory> x) {
        return new GemmMapping.Operand(x.rows(), x.cols(), x.rowStride(), x.colStride(), x.batchStride());
    }

    /**
     * cuDNN for the three convolution products, where it loaded and takes the operands (see {@link ConvPlanning}):
     * descriptors and the algorithm are planned once per geometry, then each call is one cuDNN call on the stream.
     * False (nothing issued) otherwise, and the backend's own kernels run.
     */
    @Override
    public boolean vendorConv2d(ConvDirection direction, DType t, ConvOperand<Memory> x, ConvOperand<Memory> w, ConvOperand<Memory> y, Conv2dSpec spec) {
        if (cudnn == null || ConvPlanning.dataType(t) < 0 || (!t.isComputeType() && !computesHalf(Cudnn.entryPoint(direction), t))) return false;
        ConvPlanning.Tensor4 tx = ConvPlanning.tensor(x.shape(), x.strides()), ty = ConvPlanning.tensor(y.shape(), y.strides());
        int[] f = ConvPlanning.filter(w.shape(), w.strides());
        if (tx == null || ty == null || f == null) return false;
        ConvPlanning.Key key = new ConvPlanning.Key(direction, t, tx, List.of(f[0], f[1], f[2], f[3]), ty, spec,
                ConvPlanning.mathType(t, Kiln.float32MatmulPrecision()), Kiln.areDeterministicAlgorithmsEnabled());
        makeCurrent();
        String context = Cudnn.entryPoint(direction) + " on " + info.device() + " (" + props.name() + "): " + t + " input " + tx
                + ", weight " + Arrays.toString(f) + ", output " + ty + ", " + spec;
        Cudnn.Plan plan = convPlans.computeIfAbsent(key, k -> Optional.ofNullable(cudnn.plan(cudnnHandle, k, workspaceLimit(), context))).orElse(null);
        if (plan == null) return false;
        long ws = workspaceAddress(plan.algorithm.memory());
        if (ws < 0) return false;
        long es = t.byteSize();
        cudnn.run(cudnnHandle, plan, x.memory().address() + x.offset() * es, w.memory().address() + w.offset() * es,
                y.memory().address() + y.offset() * es, ws, context);
        return true;
    }

    /** The largest workspace a cuDNN algorithm may ask for: 1 GiB, or an eighth of the device's memory if less. */
    private long workspaceLimit() { return Math.min(1L << 30, props.totalMemBytes() / 8); }

    /** The workspace's address, grown to {@code bytes} first; 0 for none needed, -1 when the device has no room. */
    private long workspaceAddress(long bytes) {
        if (bytes == 0) return 0;
        if (bytes > workspaceBytes) {
            if (workspace != null) free(workspace);
            workspace = allocate(bytes);
            workspaceBytes = workspace == null ? 0 : bytes;
            if (workspace == null) return -1;
        }
        return workspace.address();
    }

    /**
     * Half-type matmul through cuBLAS and convolutions through cuDNN, where each loaded; bfloat16 needs compute
     * capability 8.0 (Ampere) or newer, float16 runs on every device NVRTC supports.
     */
    @Override
    public boolean computesHalf(String entryPoint, DType dtype) {
        if (dtype != DType.FLOAT16 && !(dtype == DType.BFLOAT16 && props.computeCapability() >= 80)) return false;
        return switch (entryPoint) {
            case "matmul" -> cublas != null;
            case "conv2d", "conv2dBackwardInput", "conv2dBackwardWeight" -> cudnn != null;
            default -> false;
        };
    }

    @Override
    public void synchronize() {
        makeCurrent();
        checkOn(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize (an earlier kernel or copy failed)");
    }

    /** {@code -Dkiln.cuda.debug=true}: every launch is waited for (and the backend fills released buffers with NaN). */
    @Override
    public boolean debugging() { return DEBUG; }

    /** Waits for the stream, then releases cuBLAS, modules, staging, the stream and the primary context; idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        makeCurrent();
        try {
            JCudaDriver.cuStreamSynchronize(stream);
        } finally {
            if (cublasHandle != null) cublas.destroyHandle(cublasHandle);
            for (Optional<Cudnn.Plan> plan : convPlans.values()) plan.ifPresent(Cudnn.Plan::close);
            convPlans.clear();
            if (workspace != null) free(workspace);
            if (cudnnHandle != null) cudnn.destroyHandle(cudnnHandle);
            for (CUmodule m : modules) JCudaDriver.cuModuleUnload(m);
            modules.clear();
            staging.close();
            JCudaDriver.cuStreamDestroy(stream);
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
            CURRENT.remove();
        }
    }

    @Override
    public String toString() { return "CudaRuntime[" + info.device() + ": " + props.name() + "]"; }
}
