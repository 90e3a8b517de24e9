package dev.kiln.opencl;

import dev.kiln.kernel.BinaryCache;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_program;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Builds OpenCL programs from the kernel sources, caching the device binaries on disk keyed by the compiler
 * (platform, device, driver), the options and the source text, so a second run skips compilation and a driver or
 * source change rebuilds. The cache lives in the directory named by {@code -Dkiln.opencl.cache}, else
 * {@code $XDG_CACHE_HOME/kiln/opencl}, else {@code ~/.cache/kiln/opencl}. (Programs are cached in memory by
 * {@link dev.kiln.kernel.KernelBackend}.)
 *
 * <p>PoCL caches source builds itself, but it still preprocesses every source to find its cache entry: a warm run of
 * {@code ElementwiseTest} took 14.2 s on PoCL's cache alone and 3.8 s loading these binaries, so they are kept on PoCL
 * too, although exporting a binary makes PoCL compile each kernel a second time on a cold cache (112 s against 76 s).
 */
final class KernelCompiler {
    private static final Logger LOG = Logger.getLogger(KernelCompiler.class.getName());

    private final ClDevice device;
    private final cl_context context;
    private final BinaryCache cache = new BinaryCache("opencl");
    private final String baseOptions;

    KernelCompiler(ClDevice device, cl_context context) {
        this.device = device;
        this.context = context;
        // Without fp64 an unsuffixed literal such as 0.5 would be a double the device cannot hold.
        this.baseOptions = device.fp64() ? "-DKILN_FP64" : "-cl-single-precision-constant";
    }

    /** The family's compilation unit {@code source} built with {@code options} (the slot defines). */
    cl_program build(String family, String source, String defines) {
        String options = baseOptions + defines;
        Path cached = cache.file(".bin", device.compilerIdentity(), options, source);
        byte[] binary = cache.read(cached);
        if (binary != null) {
            try {
                return buildFromBinary(binary, options);
            } catch (CLException e) {
                LOG.log(Level.FINE, "discarding unusable cached OpenCL binary " + cached, e);
            }
        }
        cl_program program = CL.clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        try {
            compile(program, options);
        } catch (CLException e) {
            String log = buildLog(program);
            CL.clReleaseProgram(program);
            throw new IllegalStateException("OpenCL kernels " + family + ".cl failed to build on " + device.name()
                    + " with options '" + options + "' (" + e.getMessage() + "). Build log:\n" + log, e);
        }
        // On PoCL, exporting the binary compiles every kernel once more (generic work-group functions): under the lock too.
        cache.store(cached, compiling(() -> binaryOf(program)));
        return program;
    }

    /** {@code clBuildProgram}; on PoCL under {@link PoclBuildLock}, as every step that compiles into its cache. */
    private void compile(cl_program program, String options) {
        compiling(() -> {
            CL.clBuildProgram(program, 1, new cl_device_id[] {device.id()}, options, null, null);
            return null;
        });
    }

    private <T> T compiling(Supplier<T> step) {
        return device.platformName().startsWith("Portable Computing Language") ? PoclBuildLock.around(step) : step.get();
    }

    private cl_program buildFromBinary(byte[] binary, String options) {
        int[] status = new int[1];
        cl_program program = CL.clCreateProgramWithBinary(context, 1, new cl_device_id[] {device.id()},
                new long[] {binary.length}, new byte[][] {binary}, status, null);
        try {
            compile(program, options);
        } catch (CLException e) {
            CL.clReleaseProgram(program);
            throw e;
        }
        return program;
    }

    private String buildLog(cl_program program) {
        long[] size = new long[1];
        CL.clGetProgramBuildInfo(program, device.id(), CL.CL_PROGRAM_BUILD_LOG, 0, null, size);
        byte[] log = new byte[(int) size[0]];
        CL.clGetProgramBuildInfo(program, device.id(), CL.CL_PROGRAM_BUILD_LOG, log.length, Pointer.to(log), null);
        return new String(log, StandardCharsets.UTF_8).trim();
    }

    private static byte[] binaryOf(cl_program program) {
        long[] size = new long[1];
        CL.clGetProgramInfo(program, CL.CL_PROGRAM_BINARY_SIZES, Sizeof.size_t, Pointer.to(size), null);
        byte[] binary = new byte[(int) size[0]];
        CL.clGetProgramInfo(program, CL.CL_PROGRAM_BINARIES, Sizeof.POINTER, Pointer.to(Pointer.to(binary)), null);
        return binary;
    }
}
