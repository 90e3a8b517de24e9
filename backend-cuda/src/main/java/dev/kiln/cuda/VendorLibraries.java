package dev.kiln.cuda;

/**
 * NVIDIA's libraries as found on this machine, each optional: NVRTC (needed to compile the kernels), cuBLAS (matrix
 * products). A library that is missing or fails to bind is a reason, kept for the probe's report.
 */
record VendorLibraries(Nvrtc nvrtc, String nvrtcReason, Cublas cublas, String cublasReason) {

    static VendorLibraries load(LibraryLocator locator) {
        Nvrtc nvrtc = null;
        Cublas cublas = null;
        String nvrtcReason = null, cublasReason = null;
        LibraryLocator.Result n = locator.find("NVRTC", Nvrtc.SONAMES, true);
        if (!n.found()) nvrtcReason = n.reason();
        else {
            try {
                nvrtc = new Nvrtc(n.library());
            } catch (RuntimeException | LinkageError e) {
                nvrtcReason = n.library().describe() + " could not be used: " + e.getMessage();
            }
        }
        LibraryLocator.Result b = locator.find("cuBLAS", Cublas.SONAMES, true);
        if (!b.found()) cublasReason = b.reason();
        else {
            try {
                cublas = new Cublas(b.library());
            } catch (RuntimeException | LinkageError e) {
                cublasReason = b.library().describe() + " could not be used: " + e.getMessage();
            }
        }
        return new VendorLibraries(nvrtc, nvrtcReason, cublas, cublasReason);
    }

    /** "matmul: cuBLAS 13.0.2 from ..." or "matmul: Kiln's GEMM kernels (cuBLAS not found ...)". */
    String describeAccelerators() {
        String matmul = cublas != null ? "matmul: cuBLAS " + cublas.version + " from " + cublas.library.describe()
                : "matmul: Kiln's GEMM kernels (" + cublasReason + ")";
        return matmul + "; conv2d, batch norm: Kiln's kernels (cuDNN is not used yet)";
    }
}
