package dev.kiln.cuda;

import dev.kiln.kernel.BinaryCache;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Logger;

/**
 * Compiles the kernels module's sources for one device with NVRTC at first use, with the same {@code -D} defines
 * the OpenCL runtime passes (one specialisation per family, dtype and op, too many to prebuild), and keeps the
 * result on disk keyed by NVRTC's version, the target, the options and the source, so a second run loads it
 * without compiling. The cache lives in {@code -Dkiln.cuda.cache}, else {@code $XDG_CACHE_HOME/kiln/cuda}, else
 * {@code ~/.cache/kiln/cuda}.
 *
 * <p>The target is the device's own architecture ({@code sm_XY}: a cubin, loaded without the driver's JIT) when
 * NVRTC knows it; a device newer than the NVRTC gets PTX for the newest architecture NVRTC knows below it, which
 * the driver compiles when the module is loaded.
 */
final class KernelCompiler {
    private static final Logger LOG = Logger.getLogger(KernelCompiler.class.getName());

    /** An NVRTC architecture option and whether it yields a cubin (real architecture) or PTX (virtual one). */
    record Target(int arch, boolean cubin) {
        String option() { return "--gpu-architecture=" + (cubin ? "sm_" : "compute_") + arch; }

        @Override
        public String toString() { return (cubin ? "cubin for sm_" : "PTX for compute_") + arch; }
    }

    private final Nvrtc nvrtc;
    private final Target target;
    private final BinaryCache cache = new BinaryCache("cuda");

    KernelCompiler(Nvrtc nvrtc, Target target) {
        this.nvrtc = nvrtc;
        this.target = target;
    }

    /**
     * The target for a device of compute capability {@code major.minor} ({@code computeCapability = 10 * major +
     * minor}), or null when every architecture NVRTC supports is newer than the device.
     */
    static Target target(int computeCapability, int[] supportedArchs) {
        int below = -1;
        for (int arch : supportedArchs) {
            if (arch == computeCapability) return new Target(arch, true);
            if (arch < computeCapability) below = Math.max(below, arch);
        }
        return below < 0 ? null : new Target(below, false);
    }

    /**
     * NVRTC's options: the target, C++17 (the dialect's language, as the build's nvcc check compiles it), float64
     * (every CUDA device has it), then the backend's defines split at spaces.
     */
    static List<String> options(Target target, String defines) {
        List<String> out = new ArrayList<>();
        out.add(target.option());
        out.add("--std=c++17");
        out.add("-DKILN_FP64");
        for (String d : defines.trim().split("\\s+")) if (!d.isEmpty()) out.add(d);
        return out;
    }

    Target target() { return target; }

    /** "NVRTC 13.0 from ... (Python environment), cubin for sm_90". */
    String describe() { return "NVRTC " + nvrtc.version() + " from " + nvrtc.library.describe() + ", " + target; }

    /** The module image (cubin, or NUL-terminated PTX) of {@code family}'s source built with {@code defines}. */
    byte[] compile(String family, String source, String defines) {
        List<String> options = options(target, defines);
        Path cached = cache.file(target.cubin() ? ".cubin" : ".ptx", "nvrtc " + nvrtc.version(), target.toString(),
                String.join(" ", options), source);
        byte[] image = cache.read(cached);
        if (image != null) return image;
        Nvrtc.Output out = nvrtc.compile(source, family + ".cu", options, target.cubin());
        if (!out.log().isEmpty()) LOG.fine(() -> "NVRTC log for " + family + " " + options + ":\n" + out.log());
        cache.store(cached, out.image());
        return out.image();
    }
}
