package dev.kiln;

import dev.kiln.backend.Backend;
import dev.kiln.backend.Distribution;

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

    static Tensor arange(double start, double end, double step, DType dtype, Device device) {
        if (step == 0 || Double.isNaN(start + end + step))
            throw new IllegalArgumentException("arange: step must be non-zero and bounds finite, got start=" + start + " end=" + end + " step=" + step);
        long n = Math.max(0, (long) Math.ceil((end - start) / step));
        double[] v = new double[Math.toIntExact(n)];
        for (int i = 0; i < v.length; i++) v[i] = start + i * step;
        return fromDoubles(v, dtype, device, v.length);
    }

    static Tensor linspace(double start, double end, int steps, DType dtype, Device device) {
        if (steps < 0) throw new IllegalArgumentException("linspace: steps must be non-negative, got " + steps);
        double[] v = new double[steps];
        double step = steps > 1 ? (end - start) / (steps - 1) : 0;
        for (int i = 0; i < steps; i++) v[i] = i == steps - 1 && steps > 1 ? end : start + i * step;
        return fromDoubles(v, dtype, device, steps);
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

    static Tensor fromDoubles(double[] data, DType dtype, Device device, int... shape) {
        Tensor f64 = fromHost(MemorySegment.ofArray(data), DType.FLOAT64, data.length, shape, device);
        if (dtype == DType.FLOAT64) return f64;
        try (f64) {
            return Elementwise.cast(f64, dtype);
        }
    }

    static Tensor random(Distribution dist, double a, double b, DType dtype, Device device, int... shape) {
        Backend be = Kiln.backend(device);
        Tensor t = Tensor.allocate(be, dtype, shape);
        long n = t.numel();
        if (n > 0) be.random(dist, a, b, Kiln.seed(), Kiln.nextOffset(n), t.view);
        Reference.reachabilityFence(t);
        return t;
    }

    static Tensor bernoulli(Tensor p) {
        try (Tensor u = random(Distribution.UNIFORM, 0, 1, p.dtype().toFloating(), p.device(), p.shape());
             Tensor mask = u.lt(p)) {
            return mask.to(p.dtype());
        }
    }

    /** A copy on another backend; between backends the data goes through host memory. */
    static Tensor toDevice(Tensor x, Backend target) {
        if (target == x.backend()) return x.copy();
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
