package dev.kiln.cuda;

import dev.kiln.backend.BackendProvider;
import dev.kiln.kernel.KernelBackend;

import java.util.ArrayList;
import java.util.List;

/**
 * Offers each NVIDIA device as {@code cuda:N} (priority 300, above any OpenCL device and the CPU), or says why there
 * is none: no driver, no device, a driver too old, no way to compile the kernels. Its description names the driver,
 * the device, how kernels are compiled and which vendor libraries loaded (and why the others did not).
 */
public final class CudaProvider implements BackendProvider {
    static final int PRIORITY = 300;

    /** Creates the provider; {@link java.util.ServiceLoader} does this. */
    public CudaProvider() {}

    @Override
    public String type() { return "cuda"; }

    @Override
    public List<Candidate> probe() {
        LibraryLocator locator = LibraryLocator.system();
        CudaDriver.Probe driver = CudaDriver.probe(locator);
        if (driver.unavailableReason() != null) return List.of(Candidate.unavailable("cuda", driver.unavailableReason()));
        VendorLibraries vendor = VendorLibraries.load(locator);
        List<Candidate> out = new ArrayList<>();
        for (CudaDriver.DeviceProps d : driver.devices()) out.add(candidate(driver, d, vendor));
        return out;
    }

    private static Candidate candidate(CudaDriver.Probe driver, CudaDriver.DeviceProps d, VendorLibraries vendor) {
        String name = "cuda:" + d.ordinal();
        Nvrtc nvrtc = vendor.nvrtc().library();
        if (nvrtc == null)
            return Candidate.unavailable(name, d.name() + ": no way to compile Kiln's kernels (Kiln ships no prebuilt ones): " + vendor.nvrtc().reason());
        KernelCompiler.Target target = KernelCompiler.target(d.computeCapability(), nvrtc.supportedArchs);
        if (target == null)
            return Candidate.unavailable(name, d.name() + ": compute capability " + d.computeCapability() / 10 + "." + d.computeCapability() % 10
                    + " is older than NVRTC " + nvrtc.version() + " supports (sm_" + nvrtc.supportedArchs[0] + " and newer)");
        String tooOld = CudaDriver.tooOldFor(driver.version(), nvrtc, target.cubin());
        if (tooOld != null) return Candidate.unavailable(name, d.name() + ": " + tooOld);
        KernelCompiler compiler = new KernelCompiler(nvrtc, target);
        String description = d.describe() + "; driver CUDA " + driver.describeVersion() + "; kernels: " + compiler.describe()
                + "; " + vendor.describeAccelerators();
        return Candidate.available(name, description, PRIORITY,
                () -> new KernelBackend<>(new CudaRuntime(d, description, compiler, vendor.cublas().library(), vendor.cudnn().library())));
    }
}
