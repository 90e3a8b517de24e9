package dev.kiln.testkit;

import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.backend.Backend;
import dev.kiln.backend.BackendProvider;
import dev.kiln.backend.DeviceProbe;
import org.junit.jupiter.api.Assumptions;

import java.util.ArrayList;
import java.util.List;

/**
 * A device the conformance kit runs on. Each backend module names its devices in the system property
 * {@code kiln.test.devices} (comma-separated, e.g. {@code cpu} or {@code opencl}); a named device that the probe
 * cannot open is still listed, and every test on it is reported skipped with the probe's reason.
 */
public record TestDevice(String name, Backend backend, String unavailableReason) {

    /** The devices under test, as JUnit arguments. */
    public static List<TestDevice> underTest() {
        String spec = System.getProperty("kiln.test.devices", "cpu");
        List<TestDevice> out = new ArrayList<>();
        for (String name : spec.split(",")) {
            name = name.trim();
            if (!name.isEmpty()) out.add(resolve(name));
        }
        return out;
    }

    private static TestDevice resolve(String name) {
        Device want = Device.parse(name);
        for (BackendProvider.Candidate c : DeviceProbe.candidates()) {
            if (want.matches(Device.parse(c.device()))) {
                if (c.isAvailable()) return new TestDevice(name, DeviceProbe.backend(want), null);
                return new TestDevice(name, null, c.unavailableReason());
            }
        }
        return new TestDevice(name, null, "no provider for '" + name + "' on the class path");
    }

    private static final java.util.Map<Device, Boolean> COMPUTES_FLOAT64 = new java.util.concurrent.ConcurrentHashMap<>();

    /** Skips the calling test, with the probe's reason, when this device is absent; else makes it the default. */
    public Backend activate() {
        Assumptions.assumeTrue(backend != null, () -> name + " is not available: " + unavailableReason);
        Kiln.setDefaultDevice(backend.device());
        return backend;
    }

    /**
     * Skips the calling test when the default device (the one {@link #activate} chose) cannot compute in float64:
     * an OpenCL device without cl_khr_fp64, or any with {@code -Dkiln.opencl.fp64=false}. Only tests that ask for
     * float64 themselves call this ({@link Ref#f64}, {@link GradCheck}, float64 reference modules), so Kiln code
     * that used float64 behind the user's back still fails on such a device instead of being skipped.
     */
    public static void requireFloat64() {
        Assumptions.assumeTrue(computesFloat64(), () -> Kiln.defaultDevice() + " has no float64 (cl_khr_fp64): this test computes in float64");
    }

    /** Whether the default device computes in float64. */
    public static boolean computesFloat64() { return COMPUTES_FLOAT64.computeIfAbsent(Kiln.defaultDevice(), TestDevice::probeFloat64); }

    private static boolean probeFloat64(Device d) {
        try (dev.kiln.Tensor x = dev.kiln.Tensor.zeros(dev.kiln.DType.FLOAT64, d, 1); dev.kiln.Tensor y = x.neg()) {
            return y.numel() == 1;
        } catch (IllegalStateException e) {
            return false;
        }
    }

    public Device device() { return activate().device(); }

    /**
     * One dynamic test per device under test and case, named "device: case", for suites whose cases are data
     * (an op table) rather than methods. Each runs {@code body} after {@link #activate()}.
     */
    public static <T> java.util.stream.Stream<org.junit.jupiter.api.DynamicTest> perDevice(
            java.util.List<T> cases, java.util.function.Function<T, String> name, java.util.function.BiConsumer<TestDevice, T> body) {
        return underTest().stream().flatMap(d -> cases.stream().map(c -> org.junit.jupiter.api.DynamicTest.dynamicTest(
                d.name() + ": " + name.apply(c), () -> {
                    d.activate();
                    body.accept(d, c);
                })));
    }

    @Override
    public String toString() { return name; }
}
