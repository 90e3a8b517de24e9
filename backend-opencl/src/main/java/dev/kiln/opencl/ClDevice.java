package dev.kiln.opencl;

import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** One OpenCL device as found on the system, numbered across all platforms in discovery order ({@code opencl:N}). */
record ClDevice(int index, cl_platform_id platform, cl_device_id id, String name, String vendor, String driverVersion,
                String deviceVersion, String platformName, String platformVersion, long type, int computeUnits,
                long globalMemBytes, long maxAllocBytes, long maxWorkGroupSize, boolean fp64, boolean available,
                boolean compilerAvailable) {

    /** Every device of every platform; throws {@link org.jocl.CLException} or a LinkageError when OpenCL is absent. */
    static List<ClDevice> discover() {
        CL.setExceptionsEnabled(true);
        int[] count = new int[1];
        CL.clGetPlatformIDs(0, null, count);
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        CL.clGetPlatformIDs(platforms.length, platforms, null);
        List<ClDevice> found = new ArrayList<>();
        for (cl_platform_id p : platforms) {
            int[] n = new int[1];
            try {
                CL.clGetDeviceIDs(p, CL.CL_DEVICE_TYPE_ALL, 0, null, n);
            } catch (org.jocl.CLException e) {
                if (e.getStatus() == CL.CL_DEVICE_NOT_FOUND) continue;
                throw e;
            }
            cl_device_id[] ids = new cl_device_id[n[0]];
            CL.clGetDeviceIDs(p, CL.CL_DEVICE_TYPE_ALL, ids.length, ids, null);
            for (cl_device_id d : ids) found.add(describe(found.size(), p, d));
        }
        return found;
    }

    /**
     * {@code -Dkiln.opencl.fp64=false} reports every device as lacking cl_khr_fp64, so a machine with float64 can
     * test the path of devices without it (the build runs the kit and the nn tests that way on PoCL).
     */
    private static final boolean FP64_ALLOWED = !"false".equalsIgnoreCase(System.getProperty("kiln.opencl.fp64", "true"));

    private static ClDevice describe(int index, cl_platform_id p, cl_device_id d) {
        String extensions = deviceString(d, CL.CL_DEVICE_EXTENSIONS);
        return new ClDevice(index, p, d, deviceString(d, CL.CL_DEVICE_NAME).trim(), deviceString(d, CL.CL_DEVICE_VENDOR).trim(),
                deviceString(d, CL.CL_DRIVER_VERSION).trim(), deviceString(d, CL.CL_DEVICE_VERSION).trim(),
                platformString(p, CL.CL_PLATFORM_NAME).trim(), platformString(p, CL.CL_PLATFORM_VERSION).trim(),
                deviceLong(d, CL.CL_DEVICE_TYPE), (int) deviceInt(d, CL.CL_DEVICE_MAX_COMPUTE_UNITS),
                deviceLong(d, CL.CL_DEVICE_GLOBAL_MEM_SIZE), deviceLong(d, CL.CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                deviceSizeT(d, CL.CL_DEVICE_MAX_WORK_GROUP_SIZE), extensions.contains("cl_khr_fp64") && FP64_ALLOWED,
                deviceInt(d, CL.CL_DEVICE_AVAILABLE) != 0, deviceInt(d, CL.CL_DEVICE_COMPILER_AVAILABLE) != 0);
    }

    boolean isGpu() { return (type & (CL.CL_DEVICE_TYPE_GPU | CL.CL_DEVICE_TYPE_ACCELERATOR)) != 0; }

    boolean isCpu() { return (type & CL.CL_DEVICE_TYPE_CPU) != 0; }

    String kindName() { return isGpu() ? "GPU" : isCpu() ? "CPU" : "device"; }

    /** Why this device cannot run Kiln, or null if it can. */
    String unusableReason() {
        if (!available) return name + " reports itself unavailable";
        if (!compilerAvailable) return name + " has no OpenCL C compiler, and Kiln builds its kernels from source";
        return null;
    }

    String describe() {
        return String.format(Locale.ROOT, "OpenCL %s %s (%s, %s, driver %s), %d compute units, %.1f GiB%s", kindName(), name,
                platformName, deviceVersion, driverVersion, computeUnits, globalMemBytes / (double) (1L << 30), fp64 ? ", fp64" : "");
    }

    /** Identifies the compiler that produced a kernel binary: binaries cached on disk are keyed by it. */
    String compilerIdentity() {
        return String.join("|", platformName, platformVersion, vendor, name, deviceVersion, driverVersion);
    }

    private static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        CL.clGetDeviceInfo(d, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetDeviceInfo(d, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        CL.clGetPlatformInfo(p, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        CL.clGetPlatformInfo(p, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    private static String cString(byte[] buf) {
        int len = 0;
        while (len < buf.length && buf[len] != 0) len++;
        return new String(buf, 0, len, StandardCharsets.UTF_8);
    }

    private static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    private static long deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        CL.clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0] & 0xFFFFFFFFL;
    }

    private static long deviceSizeT(cl_device_id d, int param) {
        long[] v = new long[1];
        CL.clGetDeviceInfo(d, param, Sizeof.size_t, Pointer.to(v), null);
        return v[0];
    }
}
