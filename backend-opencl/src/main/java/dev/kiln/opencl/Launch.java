package dev.kiln.opencl;

import dev.kiln.DType;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_event;

/**
 * Sets a kernel's arguments in order and enqueues it. OpenCL copies argument values at enqueue time, so one
 * kernel object serves every launch; the backend serialises launches, since setting arguments is not thread-safe.
 */
final class Launch {
    private final KernelCompiler.Kernel kernel;
    private final boolean fp64;
    private final LaunchLog log;
    private int index;

    Launch(KernelCompiler.Kernel kernel, boolean fp64, LaunchLog log) {
        this.kernel = kernel;
        this.fp64 = fp64;
        this.log = log;
    }

    long maxWorkGroupSize() { return kernel.maxWorkGroupSize(); }

    Launch i32(int v) { return set(Sizeof.cl_int, Pointer.to(new int[] {v})); }

    Launch i64(long v) { return set(Sizeof.cl_long, Pointer.to(new long[] {v})); }

    Launch long8(long[] v) { return set(Sizeof.cl_long * Strided.MAX_RANK, Pointer.to(v)); }

    Launch long4(long[] v) { return set(Sizeof.cl_long * 4, Pointer.to(v)); }

    Launch mem(ClBuffer b) { return set(Sizeof.cl_mem, Pointer.to(b.mem)); }

    /** A buffer with its strides and element offset: the (pointer, long8, long) triple the kernels take. */
    Launch operand(ClBuffer b, long[] strides8, long offset) { return mem(b).long8(strides8).i64(offset); }

    /** A {@code wide_float} argument: double where the device has fp64, float otherwise. */
    Launch wide(double v) { return fp64 ? set(Sizeof.cl_double, Pointer.to(new double[] {v})) : set(Sizeof.cl_float, Pointer.to(new float[] {(float) v})); }

    /** A floating argument of type F: T itself for floating T, wide_float for integer and bool T. */
    Launch floatingOf(DType t, double v) {
        return switch (t) {
            case FLOAT32 -> set(Sizeof.cl_float, Pointer.to(new float[] {(float) v}));
            case FLOAT64 -> set(Sizeof.cl_double, Pointer.to(new double[] {v}));
            default -> wide(v);
        };
    }

    /** A value of slot T's type, converted as a copy would convert it. */
    Launch scalar(DType t, double v) {
        return switch (t) {
            case FLOAT32 -> set(Sizeof.cl_float, Pointer.to(new float[] {(float) v}));
            case FLOAT64 -> set(Sizeof.cl_double, Pointer.to(new double[] {v}));
            case INT32 -> i32((int) v);
            case INT64 -> i64((long) v);
            case BOOL -> set(1, Pointer.to(new byte[] {(byte) (v != 0 ? 1 : 0)}));
            case FLOAT16, BFLOAT16 -> throw new IllegalStateException(t + " is a storage type; OpenCL kernels do not compute in it");
        };
    }

    /** Raw bits of the given width (1, 2, 4 or 8 bytes), for the bits kernels. */
    Launch bits(int width, long bits) {
        return switch (width) {
            case 1 -> set(1, Pointer.to(new byte[] {(byte) bits}));
            case 2 -> set(2, Pointer.to(new short[] {(short) bits}));
            case 4 -> i32((int) bits);
            default -> i64(bits);
        };
    }

    /** A {@code __local} array of this many bytes. */
    Launch local(long bytes) {
        CL.clSetKernelArg(kernel.handle(), index++, bytes, null);
        return this;
    }

    private Launch set(long size, Pointer p) {
        CL.clSetKernelArg(kernel.handle(), index++, size, p);
        return this;
    }

    /** One work-item per element, in groups of up to 256. */
    void run1d(cl_command_queue queue, long n) {
        long local = Math.min(256, kernel.maxWorkGroupSize());
        run(queue, new long[] {(n + local - 1) / local * local}, new long[] {local});
    }

    void run(cl_command_queue queue, long[] global, long[] local) {
        cl_event event = log.launchEvent(kernel.name());
        try {
            CL.clEnqueueNDRangeKernel(queue, kernel.handle(), global.length, null, global, local, 0, null, event);
        } catch (CLException e) {
            log.enqueueFailed(event);
            throw new IllegalStateException("OpenCL kernel " + kernel.name() + " could not be enqueued: " + e.getMessage(), e);
        }
    }
}
