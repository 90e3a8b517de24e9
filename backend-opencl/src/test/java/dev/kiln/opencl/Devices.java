package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.backend.Backend;
import dev.kiln.backend.BackendProvider;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import org.jocl.cl_mem;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Test support: the first OpenCL device (or a skip with the probe's reason) and host round trips of views. */
final class Devices {
    private Devices() {}

    /**
     * The first available OpenCL device: the probe's own backend, the one the conformance kit runs on, so that
     * the module's tests and the kit share one context and queue. The calling test is skipped, with the probe's
     * reason, where there is none.
     */
    static KernelBackend<cl_mem> backendOrSkip() {
        List<BackendProvider.Candidate> candidates = DeviceProbe.candidates().stream().filter(c -> c.device().startsWith("opencl")).toList();
        BackendProvider.Candidate first = candidates.stream().filter(BackendProvider.Candidate::isAvailable).findFirst().orElse(null);
        assumeTrue(first != null, () -> "no OpenCL device: " + candidates.stream().map(c -> c.device() + ": " + c.unavailableReason()).toList());
        return OpenClRuntime.backendOf(DeviceProbe.backend(Device.parse(first.device())));
    }

    /** What a variant backend pretends the device to be. */
    enum Variant { AS_GPU, WITHOUT_FP64 }

    private static final Map<Variant, KernelBackend<cl_mem>> variants = new EnumMap<>(Variant.class);

    /**
     * The probe's device opened once more as {@code variant}: one backend per variant, made at first use and
     * freed by {@link #closeVariants} (each test class that uses one calls it when done).
     */
    static synchronized KernelBackend<cl_mem> variant(Variant variant) {
        KernelBackend<cl_mem> real = backendOrSkip();
        return variants.computeIfAbsent(variant, v -> {
            ClDevice d = ClDevice.discover().get(real.device().index());
            long type = v == Variant.AS_GPU ? org.jocl.CL.CL_DEVICE_TYPE_GPU : d.type();
            boolean fp64 = v != Variant.WITHOUT_FP64 && d.fp64();
            return new KernelBackend<>(new OpenClRuntime(new ClDevice(d.index(), d.platform(), d.id(), d.name(), d.vendor(), d.driverVersion(),
                    d.deviceVersion(), d.platformName(), d.platformVersion(), type, d.computeUnits(), d.globalMemBytes(),
                    d.maxAllocBytes(), d.maxWorkGroupSize(), fp64, d.available(), d.compilerAvailable())));
        });
    }

    static synchronized void closeVariants() {
        variants.values().forEach(KernelBackend::close);
        variants.clear();
    }

    /** The OpenCL runtime under a backend, for tests that reach its queue, context or compiler. */
    static OpenClRuntime runtime(KernelBackend<cl_mem> be) { return (OpenClRuntime) be.runtime(); }

    /** A dense view of {@code data} converted to {@code dtype} on the host (truncating, bool as != 0). */
    static View upload(KernelBackend<cl_mem> be, DType dtype, double[] data, int... shape) {
        View v = be.allocateView(dtype, shape);
        MemorySegment host = MemorySegment.ofArray(new byte[(int) Math.max(1, data.length) * dtype.byteSize()]);
        for (int i = 0; i < data.length; i++) put(host, dtype, i, data[i]);
        if (data.length > 0) be.copyFromHost(host.asSlice(0, (long) data.length * dtype.byteSize()), v.buffer(), 0);
        return v;
    }

    /** The view's elements in row-major order, read through its strides. */
    static double[] download(KernelBackend<cl_mem> be, View v) {
        long bytes = v.buffer().byteSize();
        MemorySegment host = MemorySegment.ofArray(new byte[(int) bytes]);
        be.copyToHost(v.buffer(), 0, host);
        int n = (int) v.numel();
        double[] out = new double[n];
        int[] c = new int[v.rank()];
        for (int i = 0; i < n; i++) {
            long off = v.offset();
            for (int d = 0; d < c.length; d++) off += c[d] * v.strides()[d];
            out[i] = get(host, v.dtype(), off);
            for (int d = c.length - 1; d >= 0 && ++c[d] == v.shape()[d]; d--) c[d] = 0;
        }
        return out;
    }

    static void put(MemorySegment s, DType t, long i, double v) {
        switch (t) {
            case FLOAT32 -> s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) v);
            case FLOAT64 -> s.setAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i, v);
            case INT32 -> s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, (int) v);
            case INT64 -> s.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, (long) v);
            case BOOL -> s.set(ValueLayout.JAVA_BYTE, i, (byte) (v != 0 ? 1 : 0));
            case FLOAT16, BFLOAT16 -> s.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i, (short) KernelBackend.bitsOf(t, v));
        }
    }

    static double get(MemorySegment s, DType t, long i) {
        return switch (t) {
            case FLOAT32 -> s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
            case FLOAT64 -> s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
            case INT32 -> s.getAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i);
            case INT64 -> s.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i);
            case BOOL -> s.get(ValueLayout.JAVA_BYTE, i);
            case FLOAT16 -> Float.float16ToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
            case BFLOAT16 -> Float.intBitsToFloat((s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) & 0xFFFF) << 16);
        };
    }

    /** Deterministic test data in [-range, range). */
    static double[] data(int n, double range, long seed) {
        java.util.Random r = new java.util.Random(seed);
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = (r.nextDouble() * 2 - 1) * range;
        return d;
    }

    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        org.junit.jupiter.api.Assertions.assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(e) && Double.isNaN(a)) continue;
            if (e == a) continue;
            double err = Math.abs(e - a) / Math.max(1, Math.abs(e));
            if (!(err <= tol))
                org.junit.jupiter.api.Assertions.fail(what + ": element " + i + " expected " + e + " got " + a);
        }
    }

    /**
     * The backend with its fused entry points (softmax, conv2d and its gradients, layer norm and its gradient)
     * replaced by the SPI's composed defaults running on its own primitives: the reference the fused kernels are
     * tested and measured against.
     */
    static Backend composed(KernelBackend<cl_mem> be) {
        InvocationHandler h = (proxy, method, args) -> {
            try {
                return FUSED.contains(method.getName()) && method.isDefault()
                        ? InvocationHandler.invokeDefault(proxy, method, args) : method.invoke(be, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, h);
    }

    private static final Set<String> FUSED = Set.of("softmax", "conv2d", "conv2dBackwardInput", "conv2dBackwardWeight",
            "layerNorm", "layerNormBackward");
}
