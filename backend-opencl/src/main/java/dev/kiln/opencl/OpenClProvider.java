package dev.kiln.opencl;

import dev.kiln.backend.BackendProvider;
import dev.kiln.kernel.KernelBackend;
import org.jocl.CL;
import org.jocl.CLException;

import java.util.ArrayList;
import java.util.List;

/**
 * Finds OpenCL devices through JOCL and offers each as {@code opencl:N}. A missing native library, ICD loader or
 * platform is reported as an unavailable candidate with the reason; probing never throws.
 */
public final class OpenClProvider implements BackendProvider {
    /** GPUs and accelerators rank above the pure-Java CPU backend (100). */
    static final int GPU_PRIORITY = 200;

    /** A provider; nothing is probed until {@link #probe} is called (ServiceLoader needs a public constructor). */
    public OpenClProvider() {}
    /**
     * An OpenCL CPU device (PoCL, Intel's CPU runtime) ranks below the pure-Java CPU backend: both use the same
     * cores, and the CPU backend is faster on them. Measured with DeviceThroughput (test sources) on PoCL 3.1 with
     * 2 shared cores: float32 matmul 0.9-1.6 GFLOP/s on PoCL against 17-18 on the CPU backend (n=1024; with the
     * register-blocked kernel PoCL now reaches 10-20, see the README's Performance section, still not above), a
     * 64-element add 47-136 us per launch against 1-5 us, a 4M-element add 2-4.5 GB/s on both; and PoCL compiles
     * each kernel on first use. With this round's vector kernels PoCL's memory-bound rows come near the driver's own
     * copy, but its GEMM stays at 6.5-13.5 GFLOP/s in {@code kiln bench} (n=256-2048), under the CPU backend's.
     * The device stays available when named ({@code opencl:N}).
     */
    static final int CPU_DEVICE_PRIORITY = 50;

    @Override
    public String type() { return "opencl"; }

    @Override
    public List<Candidate> probe() {
        List<ClDevice> devices;
        try {
            devices = ClDevice.discover();
        } catch (LinkageError e) {
            return List.of(Candidate.unavailable("opencl", "the JOCL native library or the OpenCL ICD loader (libOpenCL) could not be loaded: " + e));
        } catch (CLException e) {
            String why = e.getStatus() == CL.CL_PLATFORM_NOT_FOUND_KHR
                    ? "no OpenCL platform is installed (the ICD loader found no drivers, e.g. install pocl-opencl-icd)"
                    : "OpenCL platform query failed: " + e.getMessage();
            return List.of(Candidate.unavailable("opencl", why));
        } catch (RuntimeException e) {
            return List.of(Candidate.unavailable("opencl", "OpenCL probe failed: " + e));
        }
        if (devices.isEmpty()) return List.of(Candidate.unavailable("opencl", "OpenCL platforms are installed but offer no devices"));
        List<Candidate> out = new ArrayList<>();
        for (ClDevice d : devices) {
            String name = "opencl:" + d.index();
            String unusable = d.unusableReason();
            if (unusable != null) out.add(Candidate.unavailable(name, unusable));
            else out.add(Candidate.available(name, d.describe(), d.isGpu() ? GPU_PRIORITY : CPU_DEVICE_PRIORITY, () -> new KernelBackend<>(new OpenClRuntime(d))));
        }
        return out;
    }
}
