package dev.kiln.opencl;

import dev.kiln.Device;
import dev.kiln.backend.Backend;
import dev.kiln.kernel.DeviceInfo;
import dev.kiln.kernel.KernelBackend;
import dev.kiln.kernel.KernelRuntime;
import dev.kiln.kernel.StagingRing;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * One OpenCL device through JOCL: a context, one in-order command queue, buffers, uploads (through page-locked
 * staging buffers on discrete GPUs), program builds ({@link KernelCompiler}) and kernel launches. Synchronisation points check execution
 * status, not only enqueue status ({@link LaunchLog}). Everything device-neutral is in
 * {@link KernelBackend}, which drives this.
 */
public final class OpenClRuntime implements KernelRuntime<cl_mem> {
    private final ClDevice cl;
    private final DeviceInfo info;
    private final cl_context context;
    private final cl_command_queue queue;
    private final KernelCompiler compiler;
    private final LaunchLog log;
    /** Page-locked upload buffers, where the device does not read host memory directly; else null. */
    private final StagingRing<ClStaging.Slot> staging;
    private final List<cl_program> programs = new ArrayList<>();
    private final List<cl_kernel> kernels = new ArrayList<>();
    private boolean closed;

    OpenClRuntime(ClDevice cl) { this(cl, LaunchLog.DEBUG_PROPERTY); }

    /** With {@code debug}, as under {@code -Dkiln.opencl.debug=true} (see {@link LaunchLog}). */
    OpenClRuntime(ClDevice cl, boolean debug) { this(cl, debug, stagesUploads(cl)); }

    /** With {@code stageUploads}, uploads go through page-locked staging buffers whatever the device. */
    OpenClRuntime(ClDevice cl, boolean debug, boolean stageUploads) {
        this.cl = cl;
        this.info = new DeviceInfo(new Device("opencl", cl.index()), cl.name(), cl.describe(), cl.isGpu(), cl.fp64(),
                "the cl_khr_fp64 extension", cl.maxWorkGroupSize(), cl.globalMemBytes(), cl.maxAllocBytes());
        cl_context_properties props = new cl_context_properties();
        props.addProperty(CL.CL_CONTEXT_PLATFORM, cl.platform());
        this.context = CL.clCreateContext(props, 1, new cl_device_id[] {cl.id()}, null, null, null);
        @SuppressWarnings("deprecation") // clCreateCommandQueueWithProperties needs OpenCL 2.0; many devices are 1.2
        cl_command_queue q = CL.clCreateCommandQueue(context, cl.id(), 0, null);
        this.queue = q;
        this.compiler = new KernelCompiler(cl, context);
        this.log = new LaunchLog(info.device().toString(), debug);
        this.staging = stageUploads ? new StagingRing<>(new ClStaging(context, queue)) : null;
    }

    /**
     * Whether uploads go through page-locked staging buffers: {@code -Dkiln.opencl.pinnedStaging=true|false}, else
     * where the device has memory of its own ({@code CL_DEVICE_HOST_UNIFIED_MEMORY} false: a discrete GPU), whose DMA
     * engine reads page-locked memory at full speed and lets the upload return before it ran. A CPU device or an
     * integrated GPU reads host memory directly, and a staging copy would only add one.
     */
    private static boolean stagesUploads(ClDevice cl) {
        String configured = System.getProperty("kiln.opencl.pinnedStaging");
        if (configured != null && !configured.isBlank()) return Boolean.parseBoolean(configured);
        int[] unified = new int[1];
        CL.clGetDeviceInfo(cl.id(), CL.CL_DEVICE_HOST_UNIFIED_MEMORY, Sizeof.cl_int, Pointer.to(unified), null);
        return unified[0] == 0;
    }

    /**
     * The backend as one on OpenCL, for measurements that need cl_mem and the queue.
     *
     * @param be any backend
     * @return {@code be} as a kernel backend over this runtime, or null when it runs elsewhere
     */
    @SuppressWarnings("unchecked")
    public static KernelBackend<cl_mem> backendOf(Backend be) {
        return be instanceof KernelBackend<?> kb && kb.runtime() instanceof OpenClRuntime ? (KernelBackend<cl_mem>) kb : null;
    }

    /**
     * The in-order queue every launch goes to. Public for measurements that enqueue reference work (CLBlast, the
     * driver's buffer copy) beside Kiln's on one queue; work enqueued here must not touch buffers Kiln still uses.
     *
     * @return the queue
     */
    public cl_command_queue queue() { return queue; }

    /** {@return the OpenCL context of this device, for the same measurements} */
    public cl_context context() { return context; }

    @Override
    public DeviceInfo device() { return info; }

    @Override
    public cl_mem allocate(long bytes) {
        try {
            return CL.clCreateBuffer(context, CL.CL_MEM_READ_WRITE, bytes, null, null);
        } catch (CLException e) {
            if (e.getStatus() == CL.CL_MEM_OBJECT_ALLOCATION_FAILURE || e.getStatus() == CL.CL_OUT_OF_RESOURCES
                    || e.getStatus() == CL.CL_OUT_OF_HOST_MEMORY) return null;
            throw e;
        }
    }

    @Override
    public void free(cl_mem memory) { CL.clReleaseMemObject(memory); }

    /** Transfers go in chunks because a ByteBuffer over native memory holds at most 2 GiB. */
    private static final long CHUNK = 1L << 30;

    /** Through the staging buffers without waiting where there are some, else blocking writes straight from {@code src}. */
    @Override
    public void copyFromHost(MemorySegment src, cl_mem dst, long dstByteOffset) {
        if (staging != null) {
            staging.upload(src, (slot, offset, pos, n) ->
                    CL.clEnqueueWriteBuffer(queue, dst, CL.CL_FALSE, dstByteOffset + pos, n, slot.at(offset), 0, null, null));
            return;
        }
        for (long pos = 0; pos < src.byteSize(); pos += CHUNK) {
            MemorySegment part = src.asSlice(pos, Math.min(CHUNK, src.byteSize() - pos));
            Pointer p = hostPointer(part);
            if (p == null) p = Pointer.to(part.toArray(ValueLayout.JAVA_BYTE)); // read-only heap memory hides its array
            CL.clEnqueueWriteBuffer(queue, dst, CL.CL_TRUE, dstByteOffset + pos, part.byteSize(), p, 0, null, null);
        }
    }

    /** A blocking read per chunk; its event's status tells whether the work before it ran ({@link LaunchLog}). */
    @Override
    public void copyToHost(cl_mem src, long srcByteOffset, MemorySegment dst) {
        for (long pos = 0; pos < dst.byteSize(); pos += CHUNK) {
            MemorySegment part = dst.asSlice(pos, Math.min(CHUNK, dst.byteSize() - pos));
            cl_event read = new cl_event();
            CL.clEnqueueReadBuffer(queue, src, CL.CL_TRUE, srcByteOffset + pos, part.byteSize(), hostPointer(part), 0, null, read);
            log.check("copyToHost", read);
        }
    }

    /**
     * Host memory as JOCL sees it, without a copy: a native segment as a direct buffer, a heap segment as its own
     * Java array at the segment's byte offset (the transfers are blocking, so the array is used only during the
     * call). Null for read-only heap memory, whose array is not exposed.
     */
    private static Pointer hostPointer(MemorySegment part) {
        if (part.isNative()) return Pointer.to(part.asByteBuffer());
        Object array = part.heapBase().orElse(null);
        Pointer p = switch (array) {
            case null -> null;
            case byte[] a -> Pointer.to(a);
            case short[] a -> Pointer.to(a);
            case char[] a -> Pointer.to(a);
            case int[] a -> Pointer.to(a);
            case long[] a -> Pointer.to(a);
            case float[] a -> Pointer.to(a);
            case double[] a -> Pointer.to(a);
            default -> throw new IllegalArgumentException("host memory backed by " + array.getClass().getSimpleName() + " cannot be transferred");
        };
        return p == null ? null : p.withByteOffset(part.address());
    }

    @Override
    public void copy(cl_mem src, long srcByteOffset, cl_mem dst, long dstByteOffset, long bytes) {
        CL.clEnqueueCopyBuffer(queue, src, dst, srcByteOffset, dstByteOffset, bytes, 0, null, null);
    }

    @Override
    public Program<cl_mem> compile(String family, String source, String defines) {
        cl_program program = compiler.build(family, source, defines);
        programs.add(program);
        return name -> kernel(program, family, defines, name);
    }

    private Kernel<cl_mem> kernel(cl_program program, String family, String defines, String name) {
        cl_kernel handle;
        try {
            handle = CL.clCreateKernel(program, name, null);
        } catch (CLException e) {
            throw new IllegalStateException("OpenCL kernel " + name + " not found in " + family + " built with '" + defines + "'", e);
        }
        kernels.add(handle);
        long[] wg = new long[1];
        CL.clGetKernelWorkGroupInfo(handle, cl.id(), CL.CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(wg), null);
        long maxWorkGroupSize = wg[0];
        return new Kernel<>() {
            @Override public String name() { return name; }

            @Override public long maxWorkGroupSize() { return maxWorkGroupSize; }

            @Override public Args<cl_mem> args() { return new ClArgs(handle, name); }
        };
    }

    /** A marker after the issued work: once the queue is finished, its status tells whether that work ran. */
    @Override
    public void synchronize() {
        cl_event marker = new cl_event();
        CL.clEnqueueMarkerWithWaitList(queue, 0, null, marker);
        CL.clFinish(queue);
        log.check("synchronize", marker);
    }

    @Override
    public boolean debugging() { return log.debugging(); }

    /** Releases kernels, programs, the queue and the context; idempotent. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (cl_kernel k : kernels) CL.clReleaseKernel(k);
        for (cl_program p : programs) CL.clReleaseProgram(p);
        kernels.clear();
        programs.clear();
        if (staging != null) {
            CL.clFinish(queue);
            staging.close();
        }
        CL.clReleaseCommandQueue(queue);
        CL.clReleaseContext(context);
    }

    /**
     * Sets a kernel's arguments in order and enqueues it. OpenCL copies argument values at enqueue time, so one
     * kernel object serves every launch; the backend serialises launches, since setting arguments is not thread-safe.
     */
    private final class ClArgs implements Args<cl_mem> {
        private final cl_kernel kernel;
        private final String name;
        private int index;

        ClArgs(cl_kernel kernel, String name) {
            this.kernel = kernel;
            this.name = name;
        }

        @Override public Args<cl_mem> i8(byte v) { return set(1, Pointer.to(new byte[] {v})); }

        @Override public Args<cl_mem> i16(short v) { return set(2, Pointer.to(new short[] {v})); }

        @Override public Args<cl_mem> i32(int v) { return set(Sizeof.cl_int, Pointer.to(new int[] {v})); }

        @Override public Args<cl_mem> i64(long v) { return set(Sizeof.cl_long, Pointer.to(new long[] {v})); }

        @Override public Args<cl_mem> f32(float v) { return set(Sizeof.cl_float, Pointer.to(new float[] {v})); }

        @Override public Args<cl_mem> f64(double v) { return set(Sizeof.cl_double, Pointer.to(new double[] {v})); }

        @Override public Args<cl_mem> longs(long[] v) { return set((long) Sizeof.cl_long * v.length, Pointer.to(v)); }

        @Override public Args<cl_mem> memory(cl_mem m) { return set(Sizeof.cl_mem, Pointer.to(m)); }

        @Override public Args<cl_mem> local(long bytes) { return set(bytes, null); }

        private Args<cl_mem> set(long size, Pointer p) {
            CL.clSetKernelArg(kernel, index++, size, p);
            return this;
        }

        @Override
        public void run(long[] global, long[] local) {
            cl_event event = log.launchEvent(name);
            try {
                CL.clEnqueueNDRangeKernel(queue, kernel, global.length, null, global, local, 0, null, event);
            } catch (CLException e) {
                log.enqueueFailed(event);
                throw new IllegalStateException("OpenCL kernel " + name + " could not be enqueued on " + info.device() + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public String toString() { return "OpenClRuntime[" + info.device() + ": " + cl.name() + "]"; }
}
