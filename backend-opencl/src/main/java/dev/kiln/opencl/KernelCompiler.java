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
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Builds OpenCL programs from the kernel sources, caching the device binaries on disk keyed by the compiler
 * (platform, device, driver), the options and the source text, so a second run skips compilation and a driver or
 * source change rebuilds. The cache lives in the directory named by {@code -Dkiln.opencl.cache}, else
 * {@code $XDG_CACHE_HOME/kiln/opencl}, else {@code ~/.cache/kiln/opencl}. (Programs are cached in memory by
 * {@link dev.kiln.kernel.KernelBackend}.)
 */
final class KernelCompiler {
    private static final Logger LOG = Logger.getLogger(KernelCompiler.class.getName());

    private final ClDevice device;
    private final cl_context context;
    private final BinaryCache cache = new BinaryCache("opencl");
    private final boolean cachesBinaries;
    private final String baseOptions;

    KernelCompiler(ClDevice device, cl_context context) {
        this.device = device;
        this.context = context;
        this.cachesBinaries = cachesBinaries(device);
        // Without fp64 an unsuffixed literal such as 0.5 would be a double the device cannot hold.
        this.baseOptions = device.fp64() ? "-DKILN_FP64" : "-cl-single-precision-constant";
    }

    /** The family's compilation unit {@code source} built with {@code options} (the slot defines). */
    cl_program build(String family, String source, String defines) {
        String options = baseOptions + defines;
        Path cached = cachesBinaries ? cache.file(".bin", device.compilerIdentity(), options, source) : null;
        byte[] binary = cachesBinaries ? cache.read(cached) : null;
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
        if (cachesBinaries) cache.store(cached, binaryOf(program));
        return program;
    }

    /** {@code clBuildProgram}, under {@link PoclBuildLock} on PoCL. */
    private void compile(cl_program program, String options) {
        Runnable build = () -> CL.clBuildProgram(program, 1, new cl_device_id[] {device.id()}, options, null, null);
        if (!isPocl(device)) {
            build.run();
            return;
        }
        PoclBuildLock.around(() -> {
            build.run();
            return null;
        });
    }

    private static boolean isPocl(ClDevice device) { return device.platformName().startsWith("Portable Computing Language"); }

    /**
     * Whether this device's program binaries go to Kiln's cache: {@code -Dkiln.opencl.binaryCache=true|false}, else
     * everywhere but PoCL. PoCL keeps its own cache of source builds, so a second run compiles nothing either way,
     * and asking it for a program's binary costs a second compilation of every kernel in the program (generic
     * work-group functions, which it builds only for the binary); on a cold cache that doubled the build time.
     */
    static boolean cachesBinaries(ClDevice device) {
        String configured = System.getProperty("kiln.opencl.binaryCache");
        if (configured != null && !configured.isBlank()) return Boolean.parseBoolean(configured);
        return !isPocl(device);
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
