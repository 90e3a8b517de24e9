package dev.kiln.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * NVRTC, CUDA's run-time compiler, bound with {@code java.lang.foreign}: the dozen functions that turn one CUDA C
 * source into a cubin (or PTX). Any NVRTC 12 or 13 works; the sonames are tried newest first.
 */
final class Nvrtc {
    static final List<String> SONAMES = List.of("libnvrtc.so.13", "libnvrtc.so.12");
    /** NVRTC loads its builtins library by soname at compile time; opened first from NVRTC's own folder. */
    static final List<String> COMPANIONS = List.of("libnvrtc-builtins.so");

    /** What one compilation produced: the image (cubin or PTX, NUL-terminated) and the compiler's log. */
    record Output(byte[] image, String log) {}

    final NativeLibrary library;
    final int major, minor;
    /** The real architectures this NVRTC can compile for (75, 80, 86, 89, 90, ...), ascending. */
    final int[] supportedArchs;

    private final MethodHandle getErrorString, createProgram, compileProgram, destroyProgram;
    private final MethodHandle getLogSize, getLog, getCubinSize, getCubin, getPtxSize, getPtx;

    Nvrtc(NativeLibrary library) {
        this.library = library;
        FunctionDescriptor sizeOut = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
        getErrorString = library.function("nvrtcGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        createProgram = library.function("nvrtcCreateProgram",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS));
        compileProgram = library.function("nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        destroyProgram = library.function("nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getLogSize = library.function("nvrtcGetProgramLogSize", sizeOut);
        getLog = library.function("nvrtcGetProgramLog", sizeOut);
        getCubinSize = library.function("nvrtcGetCUBINSize", sizeOut);
        getCubin = library.function("nvrtcGetCUBIN", sizeOut);
        getPtxSize = library.function("nvrtcGetPTXSize", sizeOut);
        getPtx = library.function("nvrtcGetPTX", sizeOut);
        MethodHandle version = library.function("nvrtcVersion", sizeOut);
        MethodHandle numArchs = library.function("nvrtcGetNumSupportedArchs", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle archs = library.function("nvrtcGetSupportedArchs", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocate(JAVA_INT), b = arena.allocate(JAVA_INT);
            check((int) version.invokeExact(a, b), "nvrtcVersion");
            major = a.get(JAVA_INT, 0);
            minor = b.get(JAVA_INT, 0);
            check((int) numArchs.invokeExact(a), "nvrtcGetNumSupportedArchs");
            MemorySegment list = arena.allocate(JAVA_INT, Math.max(1, a.get(JAVA_INT, 0)));
            check((int) archs.invokeExact(list), "nvrtcGetSupportedArchs");
            supportedArchs = Arrays.copyOf(list.toArray(JAVA_INT), a.get(JAVA_INT, 0));
            Arrays.sort(supportedArchs);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    String version() { return major + "." + minor; }

    /**
     * Compiles {@code source} with {@code options}; {@code cubin} says whether the options name a real architecture
     * ({@code sm_XY}: a cubin comes out) or a virtual one ({@code compute_XY}: PTX). A source that does not compile
     * throws with the log.
     */
    Output compile(String source, String programName, List<String> options, boolean cubin) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment programOut = arena.allocate(ADDRESS);
            check((int) createProgram.invokeExact(programOut, arena.allocateFrom(source), arena.allocateFrom(programName),
                    0, MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram");
            MemorySegment program = programOut.get(ADDRESS, 0);
            try {
                MemorySegment argv = arena.allocate(ADDRESS, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) argv.setAtIndex(ADDRESS, i, arena.allocateFrom(options.get(i)));
                int status = (int) compileProgram.invokeExact(program, options.size(), argv);
                String log = text(program, getLogSize, getLog, arena);
                if (status != 0)
                    throw new IllegalStateException("NVRTC " + version() + " could not compile " + programName + " ("
                            + errorName(status) + ") with options " + options + ". Log:\n" + log);
                byte[] image = cubin ? bytes(program, getCubinSize, getCubin, arena) : bytes(program, getPtxSize, getPtx, arena);
                return new Output(image, log);
            } finally {
                programOut.set(ADDRESS, 0, program);
                check((int) destroyProgram.invokeExact(programOut), "nvrtcDestroyProgram");
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private byte[] bytes(MemorySegment program, MethodHandle size, MethodHandle get, Arena arena) throws Throwable {
        MemorySegment n = arena.allocate(JAVA_LONG);
        check((int) size.invokeExact(program, n), "nvrtc size query");
        MemorySegment out = arena.allocate(Math.max(1, n.get(JAVA_LONG, 0)));
        check((int) get.invokeExact(program, out), "nvrtc output query");
        return out.asSlice(0, n.get(JAVA_LONG, 0)).toArray(ValueLayout.JAVA_BYTE);
    }

    private String text(MemorySegment program, MethodHandle size, MethodHandle get, Arena arena) throws Throwable {
        byte[] b = bytes(program, size, get, arena);
        int end = b.length;
        while (end > 0 && b[end - 1] == 0) end--;
        return new String(b, 0, end, StandardCharsets.UTF_8).strip();
    }

    private void check(int status, String call) {
        if (status != 0) throw new IllegalStateException(call + " failed: " + errorName(status));
    }

    private String errorName(int status) {
        try {
            MemorySegment s = (MemorySegment) getErrorString.invokeExact(status);
            return s.equals(MemorySegment.NULL) ? "NVRTC error " + status : s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            return "NVRTC error " + status;
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
