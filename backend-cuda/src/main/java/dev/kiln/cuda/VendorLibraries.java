package dev.kiln.cuda;

import java.util.List;
import java.util.function.Function;

/**
 * NVIDIA's libraries as found on this machine, each optional: NVRTC (needed to compile the kernels), cuBLAS (matrix
 * products), cuDNN (convolutions). A library that is missing or fails to bind is a reason, kept for the probe's report.
 */
record VendorLibraries(Bound<Nvrtc> nvrtc, Bound<Cublas> cublas, Bound<Cudnn> cudnn) {

    /** A bound library, or why there is none. */
    record Bound<T>(T library, String reason) {}

    static VendorLibraries load(LibraryLocator locator) {
        return new VendorLibraries(bind(locator, "NVRTC", Nvrtc.SONAMES, Nvrtc.COMPANIONS, Nvrtc::new),
                bind(locator, "cuBLAS", Cublas.SONAMES, Cublas.COMPANIONS, Cublas::new),
                bind(locator, "cuDNN", Cudnn.SONAMES, Cudnn.COMPANIONS, Cudnn::new));
    }

    private static <T> Bound<T> bind(LibraryLocator locator, String what, List<String> sonames, List<String> companions,
                                     Function<NativeLibrary, T> binding) {
        LibraryLocator.Result found = locator.find(what, sonames, true, companions);
        if (!found.found()) return new Bound<>(null, found.reason());
        try {
            return new Bound<>(binding.apply(found.library()), null);
        } catch (RuntimeException | LinkageError e) {
            return new Bound<>(null, found.library().describe() + " could not be used: " + e.getMessage());
        }
    }

    /**
     * "matmul: cuBLAS 13.0.2 from ...; conv2d: cuDNN 9.19.0 from ...", or Kiln's kernels with the reason for each
     * library that is not used.
     */
    String describeAccelerators() {
        Cublas b = cublas.library();
        Cudnn d = cudnn.library();
        String matmul = b != null ? "matmul: cuBLAS " + b.version + " from " + b.library.describe()
                : "matmul: Kiln's GEMM kernels (" + cublas.reason() + ")";
        String conv = d != null ? "conv2d and its gradients: cuDNN " + d.version + " from " + d.library.describe()
                : "conv2d: Kiln's kernels (" + cudnn.reason() + ")";
        return matmul + "; " + conv + "; batch norm: composed from Kiln's kernels";
    }
}
