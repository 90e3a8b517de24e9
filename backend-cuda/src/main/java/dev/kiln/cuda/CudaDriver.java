package dev.kiln.cuda;

import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The NVIDIA driver as the probe sees it: found (libcuda.so.1), initialised through JCuda, its CUDA version and its
 * devices. Probing never throws; what went wrong is a reason, phrased for the user.
 */
final class CudaDriver {
    /** JCuda 12.6 binds driver symbols that CUDA 12.0 drivers have; older ones are refused with that reason. */
    static final int MINIMUM_VERSION = 12000;
    private static final int CUDA_ERROR_INSUFFICIENT_DRIVER = 35;

    /** One device's properties, read once at probe time. {@code computeCapability} is 10 * major + minor. */
    record DeviceProps(int ordinal, String name, long totalMemBytes, int computeCapability, int multiprocessors,
                       int maxThreadsPerBlock, int maxSharedBytesPerBlockOptin, boolean memoryPools) {
        String describe() {
            return String.format("%s, %.1f GiB, compute capability %d.%d, %d SMs", name, totalMemBytes / (double) (1L << 30),
                    computeCapability / 10, computeCapability % 10, multiprocessors);
        }
    }

    /** The outcome: the driver's library, CUDA version and devices, or the reason none can be used. */
    record Probe(NativeLibrary library, int version, List<DeviceProps> devices, String unavailableReason) {
        static Probe unavailable(String reason) { return new Probe(null, 0, List.of(), reason); }

        String describeVersion() { return versionText(version); }
    }

    private CudaDriver() {}

    /** "13.0" for the driver API's 13000. */
    static String versionText(int version) { return version / 1000 + "." + version % 1000 / 10; }

    static Probe probe(LibraryLocator locator) {
        // Opened first through the locator so that a driver in -Dkiln.cuda.libraryPath is the one JCuda's JNI
        // library links: the dynamic loader matches its NEEDED libcuda.so.1 against the already loaded soname.
        LibraryLocator.Result driver = locator.find("the NVIDIA driver", List.of("libcuda.so.1"), false);
        if (!driver.found()) return Probe.unavailable("no NVIDIA driver (libcuda.so.1 not found on the loader's path or in -D"
                + LibraryLocator.LIBRARY_PATH_PROPERTY + ")");
        try {
            int init = JCudaDriver.cuInit(0);
            if (init == CUresult.CUDA_ERROR_NO_DEVICE) return Probe.unavailable("the NVIDIA driver reports no CUDA device");
            if (init == CUDA_ERROR_INSUFFICIENT_DRIVER)
                return Probe.unavailable("the NVIDIA driver is too old for this system's CUDA (cuInit: CUDA_ERROR_INSUFFICIENT_DRIVER)");
            if (init != CUresult.CUDA_SUCCESS) return Probe.unavailable("the NVIDIA driver failed to initialise: cuInit returned " + CUresult.stringFor(init));
            int[] value = new int[1];
            check(JCudaDriver.cuDriverGetVersion(value), "cuDriverGetVersion");
            int version = value[0];
            if (version < MINIMUM_VERSION)
                return Probe.unavailable("driver too old: it supports CUDA " + versionText(version) + ", Kiln needs CUDA "
                        + versionText(MINIMUM_VERSION) + " or newer");
            check(JCudaDriver.cuDeviceGetCount(value), "cuDeviceGetCount");
            if (value[0] == 0) return Probe.unavailable("the NVIDIA driver (CUDA " + versionText(version) + ") reports no CUDA device");
            List<DeviceProps> devices = new ArrayList<>();
            for (int i = 0; i < value[0]; i++) devices.add(properties(i));
            return new Probe(driver.library(), version, List.copyOf(devices), null);
        } catch (LinkageError e) {
            return Probe.unavailable("JCuda's driver bindings could not be loaded: " + e);
        } catch (RuntimeException e) {
            return Probe.unavailable("CUDA probe failed: " + e.getMessage());
        }
    }

    private static DeviceProps properties(int ordinal) {
        CUdevice device = new CUdevice();
        check(JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet");
        byte[] name = new byte[256];
        check(JCudaDriver.cuDeviceGetName(name, name.length, device), "cuDeviceGetName");
        int end = 0;
        while (end < name.length && name[end] != 0) end++;
        long[] total = new long[1];
        check(JCudaDriver.cuDeviceTotalMem(total, device), "cuDeviceTotalMem");
        int major = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        int minor = attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        return new DeviceProps(ordinal, new String(name, 0, end, StandardCharsets.UTF_8), total[0], 10 * major + minor,
                attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT),
                attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK),
                attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN),
                attribute(device, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED) != 0);
    }

    private static int attribute(CUdevice device, int attribute) {
        int[] v = new int[1];
        check(JCudaDriver.cuDeviceGetAttribute(v, attribute, device), "cuDeviceGetAttribute(" + attribute + ")");
        return v[0];
    }

    /** Throws for a failed driver call, naming the call and the error. */
    static void check(int result, String call) {
        if (result != CUresult.CUDA_SUCCESS) throw new IllegalStateException(call + " failed: " + CUresult.stringFor(result));
    }

    /**
     * Why this driver cannot load what the NVRTC makes, or null when it can: a cubin needs a driver of NVRTC's major
     * version (minor-version compatibility), PTX one of at least its major.minor (the PTX ISA version).
     */
    static String tooOldFor(int driverVersion, Nvrtc nvrtc, boolean cubin) {
        return tooOldFor(driverVersion, nvrtc.major, nvrtc.minor, cubin, nvrtc.library.soname());
    }

    static String tooOldFor(int driverVersion, int nvrtcMajor, int nvrtcMinor, boolean cubin, String nvrtcName) {
        int needed = cubin ? nvrtcMajor * 1000 : nvrtcMajor * 1000 + nvrtcMinor * 10;
        if (driverVersion >= needed) return null;
        return "driver too old: it supports CUDA " + versionText(driverVersion) + ", the kernels are compiled by NVRTC "
                + nvrtcMajor + "." + nvrtcMinor + " (" + nvrtcName + ") for CUDA " + versionText(needed)
                + " or newer; update the driver or put an NVRTC " + driverVersion / 1000 + " in -D" + LibraryLocator.LIBRARY_PATH_PROPERTY;
    }
}
