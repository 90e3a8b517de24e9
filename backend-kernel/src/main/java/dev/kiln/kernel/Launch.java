package dev.kiln.kernel;

import dev.kiln.DType;

/**
 * One launch of a kernel: the kernels' argument conventions (operands as buffer + strides + offset, scalars in the
 * slot's type, {@code wide_float}) on top of the runtime's typed arguments.
 */
final class Launch<M> {
    private final KernelRuntime.Kernel<M> kernel;
    private final KernelRuntime.Args<M> args;
    private final boolean fp64;

    Launch(KernelRuntime.Kernel<M> kernel, boolean fp64) {
        this.kernel = kernel;
        this.args = kernel.args();
        this.fp64 = fp64;
    }

    long maxWorkGroupSize() { return kernel.maxWorkGroupSize(); }

    Launch<M> i32(int v) {
        args.i32(v);
        return this;
    }

    Launch<M> i64(long v) {
        args.i64(v);
        return this;
    }

    /** A shape or strides as {@code long8} (length {@link Strided#MAX_RANK}) or {@code long4} (length 4). */
    Launch<M> longs(long[] v) {
        args.longs(v);
        return this;
    }

    Launch<M> mem(DeviceBuffer<M> b) {
        args.memory(b.memory);
        return this;
    }

    /** A buffer with its strides and element offset: the (pointer, long8, long) triple the kernels take. */
    Launch<M> operand(DeviceBuffer<M> b, long[] strides8, long offset) { return mem(b).longs(strides8).i64(offset); }

    /** A {@code wide_float} argument: double where the device has fp64, float otherwise. */
    Launch<M> wide(double v) {
        if (fp64) args.f64(v);
        else args.f32((float) v);
        return this;
    }

    /** A floating argument of type F: T itself for floating T, wide_float for integer and bool T. */
    Launch<M> floatingOf(DType t, double v) {
        switch (t) {
            case FLOAT32 -> args.f32((float) v);
            case FLOAT64 -> args.f64(v);
            default -> wide(v);
        }
        return this;
    }

    /** A value of slot T's type, converted as a copy would convert it. */
    Launch<M> scalar(DType t, double v) {
        switch (t) {
            case FLOAT32 -> args.f32((float) v);
            case FLOAT64 -> args.f64(v);
            case INT32 -> args.i32((int) v);
            case INT64 -> args.i64((long) v);
            case BOOL -> args.i8((byte) (v != 0 ? 1 : 0));
            case FLOAT16, BFLOAT16 -> throw new IllegalStateException(t + " is a storage type; kernels do not compute in it");
        }
        return this;
    }

    /** Raw bits of the given width (1, 2, 4 or 8 bytes), for the bits kernels. */
    Launch<M> bits(int width, long bits) {
        switch (width) {
            case 1 -> args.i8((byte) bits);
            case 2 -> args.i16((short) bits);
            case 4 -> args.i32((int) bits);
            default -> args.i64(bits);
        }
        return this;
    }

    /** A work-group-local array of this many bytes. */
    Launch<M> local(long bytes) {
        args.local(bytes);
        return this;
    }

    /** One work-item per element, in groups of up to 256. */
    void run1d(long n) {
        long local = Math.min(256, kernel.maxWorkGroupSize());
        run(new long[] {(n + local - 1) / local * local}, new long[] {local});
    }

    void run(long[] global, long[] local) { args.run(global, local); }
}
