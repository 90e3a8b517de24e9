package dev.kiln.opencl;

import dev.kiln.backend.ArgReduceOp;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.ReduceOp;
import dev.kiln.backend.UnaryOp;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_program;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Builds the kernels module's OpenCL sources at first use and caches them: in memory per (family, build options),
 * and on disk as device binaries keyed by the compiler (platform, device, driver), the options and the source text,
 * so a second run skips compilation and a driver or source change rebuilds. The cache lives in the directory named
 * by {@code -Dkiln.opencl.cache}, else {@code $XDG_CACHE_HOME/kiln/opencl}, else {@code ~/.cache/kiln/opencl}.
 */
final class KernelCompiler {
    private static final Logger LOG = Logger.getLogger(KernelCompiler.class.getName());
    private static final String SOURCE_ROOT = "dev/kiln/kernels/opencl/";

    /** A built kernel and the largest work-group it can be launched with on this device. */
    record Kernel(cl_kernel handle, String name, long maxWorkGroupSize) {}

    private final ClDevice device;
    private final cl_context context;
    private final Path cacheDir;
    private final String baseOptions;
    private final Map<String, cl_program> programs = new HashMap<>();
    private final Map<String, Kernel> kernels = new HashMap<>();
    private final Map<String, String> sources = new HashMap<>();

    KernelCompiler(ClDevice device, cl_context context) {
        this.device = device;
        this.context = context;
        this.cacheDir = cacheDirectory();
        // Without fp64 an unsuffixed literal such as 0.5 would be a double the device cannot hold.
        this.baseOptions = device.fp64() ? "-DKILN_FP64" : "-cl-single-precision-constant";
    }

    static Path cacheDirectory() {
        String configured = System.getProperty("kiln.opencl.cache");
        if (configured != null && !configured.isBlank()) return Path.of(configured);
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("kiln").resolve("opencl");
    }

    /** Entry point {@code name} of {@code family}.cl built with {@code options} (the slot defines). */
    synchronized Kernel kernel(String family, String options, String name) {
        String programKey = family + options;
        Kernel k = kernels.get(programKey + "#" + name);
        if (k != null) return k;
        cl_program program = programs.get(programKey);
        if (program == null) {
            program = build(family, baseOptions + options);
            programs.put(programKey, program);
        }
        cl_kernel handle;
        try {
            handle = CL.clCreateKernel(program, name, null);
        } catch (CLException e) {
            throw new IllegalStateException("OpenCL kernel " + name + " not found in " + family + ".cl built with '" + options + "'", e);
        }
        long[] wg = new long[1];
        CL.clGetKernelWorkGroupInfo(handle, device.id(), CL.CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(wg), null);
        k = new Kernel(handle, name, wg[0]);
        kernels.put(programKey + "#" + name, k);
        return k;
    }

    /** Frees every kernel and program built so far (the backend is closing). */
    synchronized void release() {
        for (Kernel k : kernels.values()) CL.clReleaseKernel(k.handle());
        for (cl_program p : programs.values()) CL.clReleaseProgram(p);
        kernels.clear();
        programs.clear();
    }

    private cl_program build(String family, String options) {
        String source = source(family);
        Path cached = cacheDir.resolve(cacheKey(source, options) + ".bin");
        if (Files.isRegularFile(cached)) {
            try {
                return buildFromBinary(Files.readAllBytes(cached), options);
            } catch (IOException | CLException e) {
                LOG.log(Level.FINE, "discarding unusable cached OpenCL binary " + cached, e);
            }
        }
        cl_program program = CL.clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        try {
            CL.clBuildProgram(program, 1, new cl_device_id[] {device.id()}, options, null, null);
        } catch (CLException e) {
            String log = buildLog(program);
            CL.clReleaseProgram(program);
            throw new IllegalStateException("OpenCL kernels " + family + ".cl failed to build on " + device.name()
                    + " with options '" + options + "' (" + e.getMessage() + "). Build log:\n" + log, e);
        }
        store(cached, binaryOf(program));
        return program;
    }

    private cl_program buildFromBinary(byte[] binary, String options) {
        int[] status = new int[1];
        cl_program program = CL.clCreateProgramWithBinary(context, 1, new cl_device_id[] {device.id()},
                new long[] {binary.length}, new byte[][] {binary}, status, null);
        try {
            CL.clBuildProgram(program, 1, new cl_device_id[] {device.id()}, options, null, null);
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

    /** Writes atomically (temp file, then rename) so a concurrent reader never sees half a binary. */
    private static void store(Path file, byte[] binary) {
        if (binary.length == 0) return;
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            Files.write(tmp, binary);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.log(Level.FINE, "cannot cache OpenCL binary in " + file.getParent(), e);
        }
    }

    private String cacheKey(String source, String options) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(device.compilerIdentity().getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(options.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(source.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(sha.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** The op-code constants, the prelude and the family's source, as one compilation unit. */
    private String source(String family) {
        return sources.computeIfAbsent(family, f -> opCodes() + resource("prelude") + "\n#line 1\n" + resource(f));
    }

    /** Op codes are the Java enums' ordinals, written out here so the kernels can never drift from them. */
    static String opCodes() {
        StringBuilder sb = new StringBuilder();
        for (UnaryOp op : UnaryOp.values()) define(sb, "UNARY_", op);
        for (BinaryOp op : BinaryOp.values()) define(sb, "BINARY_", op);
        for (ReduceOp op : ReduceOp.values()) define(sb, "REDUCE_", op);
        for (ArgReduceOp op : ArgReduceOp.values()) define(sb, "ARG_", op);
        for (Distribution d : Distribution.values()) define(sb, "DIST_", d);
        return sb.toString();
    }

    private static void define(StringBuilder sb, String prefix, Enum<?> e) {
        sb.append("#define ").append(prefix).append(e.name()).append(' ').append(e.ordinal()).append('\n');
    }

    private static String resource(String family) {
        String path = SOURCE_ROOT + family + ".cl";
        try (InputStream in = KernelCompiler.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("OpenCL kernel source " + path + " is not on the class path (kiln-kernels missing?)");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + path, e);
        }
    }
}
