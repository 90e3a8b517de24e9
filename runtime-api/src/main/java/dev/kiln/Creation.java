package dev.kiln;

import dev.kiln.backend.Backend;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.HostValues;
import dev.kiln.random.Generator;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;

/** Factories: constants, ranges, host data, random numbers, and moves between devices. */
final class Creation {
    private Creation() {}

    static Tensor full(double value, DType dtype, Device device, int... shape) { return full(value, dtype, Kiln.backend(device), shape); }

    /** Like {@code x}'s shape, dtype and backend; skips looking the device up again. */
    static Tensor fullLike(Tensor x, double value) { return full(value, x.dtype(), x.backend(), x.view.shape()); }

    private static Tensor full(double value, DType dtype, Backend backend, int[] shape) {
        Tensor t = Tensor.allocate(backend, dtype, shape);
        if (t.numel() > 0) backend.fill(t.view, value);
        return t;
    }

    /** Built on the device ({@link Backend#arange}): nothing is computed on the host or uploaded. */
    static Tensor arange(double start, double end, double step, DType dtype, Device device) {
        if (step == 0 || !Double.isFinite(start) || !Double.isFinite(end) || !Double.isFinite(step))
            throw new IllegalArgumentException("arange: step must be non-zero and bounds finite, got start=" + start + " end=" + end + " step=" + step);
        double count = Math.ceil((end - start) / step);
        int n = Shapes.dimension("arange", "a range from " + start + " to " + end + " by " + step, count > Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(0, (long) count));
        return sequence(start, step, dtype, Kiln.backend(device), n);
    }

    static Tensor linspace(double start, double end, int steps, DType dtype, Device device) {
        if (steps < 0) throw new IllegalArgumentException("linspace: steps must be non-negative, got " + steps);
        Tensor t = sequence(start, steps > 1 ? (end - start) / (steps - 1) : 0, dtype, Kiln.backend(device), steps);
        // The last point is end exactly, not start plus a rounded multiple of the step.
        if (steps > 1) t.backend().fill(t.view.withShape(new int[] {1}, new long[] {1}, steps - 1), end);
        return t;
    }

    private static Tensor sequence(double start, double step, DType dtype, Backend backend, int n) {
        Tensor t = Tensor.allocate(backend, dtype, new int[] {n});
        if (n > 0) backend.arange(start, step, t.view);
        return t;
    }

    static Tensor eye(int n, DType dtype, Device device) {
        if (n < 0) throw new IllegalArgumentException("eye: n must be non-negative, got " + n);
        Tensor t = full(0, dtype, device, n, n);
        if (n > 0) {
            // The diagonal is a strided view with stride n + 1.
            t.backend().fill(t.view.withShape(new int[] {n}, new long[] {n + 1L}, 0), 1);
            Reference.reachabilityFence(t);
        }
        return t;
    }

    static Tensor fromHost(MemorySegment data, DType dtype, long length, int[] shape, Device device) {
        int[] s = shape.length == 0 ? new int[] {Math.toIntExact(length)} : shape.clone();
        Shapes.checkShape("tensor", s);
        if (Shapes.numel(s) != length)
            throw new IllegalArgumentException("tensor: " + length + " values do not fill shape " + Shapes.str(s) + " (" + Shapes.numel(s) + " elements)");
        Tensor t = Tensor.allocate(Kiln.backend(device), dtype, s);
        if (length > 0) t.backend().copyFromHost(data, t.storage.buffer, 0);
        return t;
    }

    static Tensor fromBooleans(boolean[] data, int[] shape, Device device) {
        byte[] bytes = new byte[data.length];
        for (int i = 0; i < data.length; i++) bytes[i] = (byte) (data[i] ? 1 : 0);
        return fromHost(MemorySegment.ofArray(bytes), DType.BOOL, data.length, shape, device);
    }

    /** Converted on the host, so the device receives {@code dtype} and never needs float64. */
    static Tensor fromDoubles(double[] data, DType dtype, Device device, int... shape) {
        MemorySegment doubles = MemorySegment.ofArray(data);
        if (dtype == DType.FLOAT64) return fromHost(doubles, dtype, data.length, shape, device);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment converted = arena.allocate(Math.max(1, (long) data.length * dtype.byteSize()), 8);
            HostValues.convert(doubles, DType.FLOAT64, converted, dtype, data.length);
            return fromHost(converted.asSlice(0, (long) data.length * dtype.byteSize()), dtype, data.length, shape, device);
        }
    }

    static Tensor random(Distribution dist, double a, double b, DType dtype, Device device, int... shape) {
        return random(null, dist, a, b, dtype, device, shape);
    }

    /** Draws from {@code generator}, or the default generator when it is null. */
    static Tensor random(Generator generator, Distribution dist, double a, double b, DType dtype, Device device, int... shape) {
        Backend be = Kiln.backend(device);
        Tensor t = Tensor.allocate(be, dtype, shape);
        long n = t.numel();
        if (n > 0) {
            Generator.State draw = (generator == null ? Generator.defaultGenerator() : generator).reserve(n);
            be.random(dist, a, b, draw.seed(), draw.offset(), t.view);
        }
        Reference.reachabilityFence(t);
        return t;
    }

    /**
     * A random permutation of 0..n-1 as int64, drawn on the device: n Philox words as keys, stably sorted (ties,
     * rare among 32-bit keys, keep index order). {@link dev.kiln.random.Philox#permutation} is the host reference.
     */
    static Tensor randperm(long n, Generator generator, Device device) {
        if (n < 0 || n > Integer.MAX_VALUE) throw new IllegalArgumentException("randperm: n must be in [0, 2^31), got " + n);
        try (Tensor keys = random(generator, Distribution.INTEGER, 0, 0x1p32, DType.INT64, device, (int) n)) {
            return Sorting.argsort(keys, 0, false);
        }
    }

    static Tensor bernoulli(Tensor p) { return bernoulli(p, null); }

    static Tensor bernoulli(Tensor p, Generator generator) {
        try (Tensor u = random(generator, Distribution.UNIFORM, 0, 1, p.dtype().toFloating(), p.device(), p.shape());
             Tensor mask = u.lt(p)) {
            return mask.to(p.dtype());
        }
    }

    /** A copy on another backend; between backends the data goes through host memory. */
    static Tensor toDevice(Tensor x, Backend target) {
        if (target == x.backend()) return x.clone();
        Tensor out = Tensor.allocate(target, x.dtype(), x.view.shape());
        if (x.numel() > 0) {
            try (Tensor dense = x.isContiguous() ? null : x.contiguous(); Arena arena = Arena.ofConfined()) {
                Tensor src = dense == null ? x : dense;
                MemorySegment host = arena.allocate(x.numel() * x.dtype().byteSize(), 64);
                src.backend().copyToHost(src.storage.buffer, src.view.offset() * x.dtype().byteSize(), host);
                target.copyFromHost(host, out.storage.buffer, 0);
            }
        }
        Device back = x.device();
        return Autograd.record("to", out, x, g -> new Tensor[] {g.to(back)});
    }
}
