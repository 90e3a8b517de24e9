package dev.kiln.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The NVRTC binding against a fake NVRTC made of upcall stubs: version and architecture queries, a compilation with
 * its options and log, a failed one, and the kernel compiler's disk cache. The fake "compiles" a source into an
 * image that spells the options it was given, so the test sees exactly what crossed the foreign boundary.
 */
class NvrtcBindingTest {
    private static final Arena STATIC = Arena.ofShared();
    private static final MemorySegment PROGRAM_HANDLE = STATIC.allocate(8);
    private static final MemorySegment ERROR_TEXT = STATIC.allocateFrom("NVRTC_ERROR_COMPILATION");
    private static String source, name, log;
    private static byte[] image;
    private static final List<String> compiledOptions = new ArrayList<>();
    private static int destroyed;

    static int nvrtcVersion(MemorySegment major, MemorySegment minor) {
        major.reinterpret(4).set(JAVA_INT, 0, 13);
        minor.reinterpret(4).set(JAVA_INT, 0, 0);
        return 0;
    }

    static int nvrtcGetNumSupportedArchs(MemorySegment n) {
        n.reinterpret(4).set(JAVA_INT, 0, 3);
        return 0;
    }

    static int nvrtcGetSupportedArchs(MemorySegment list) {
        MemorySegment l = list.reinterpret(12);
        l.setAtIndex(JAVA_INT, 0, 90);
        l.setAtIndex(JAVA_INT, 1, 75);
        l.setAtIndex(JAVA_INT, 2, 80);
        return 0;
    }

    static MemorySegment nvrtcGetErrorString(int status) { return ERROR_TEXT; }

    static int nvrtcCreateProgram(MemorySegment out, MemorySegment src, MemorySegment programName, int headers,
                                  MemorySegment headerSources, MemorySegment includeNames) {
        source = src.reinterpret(Long.MAX_VALUE).getString(0);
        name = programName.reinterpret(Long.MAX_VALUE).getString(0);
        out.reinterpret(8).set(ADDRESS, 0, PROGRAM_HANDLE);
        return headers == 0 && headerSources.equals(MemorySegment.NULL) ? 0 : 3;
    }

    static int nvrtcCompileProgram(MemorySegment program, int count, MemorySegment options) {
        if (!program.equals(PROGRAM_HANDLE)) return 3;
        MemorySegment argv = options.reinterpret(8L * count);
        List<String> opts = new ArrayList<>();
        for (int i = 0; i < count; i++) opts.add(argv.getAtIndex(ADDRESS, i).reinterpret(Long.MAX_VALUE).getString(0));
        compiledOptions.add(String.join(" ", opts));
        if (source.contains("#error")) {
            log = name + "(1): error: the source says #error";
            return 6;
        }
        log = "";
        image = ("IMAGE " + opts + "\0").getBytes(StandardCharsets.UTF_8);
        return 0;
    }

    static int nvrtcGetProgramLogSize(MemorySegment program, MemorySegment size) {
        size.reinterpret(8).set(JAVA_LONG, 0, log.length() + 1);
        return 0;
    }

    static int nvrtcGetProgramLog(MemorySegment program, MemorySegment out) {
        out.reinterpret(log.length() + 1).setString(0, log);
        return 0;
    }

    static int nvrtcGetImageSize(MemorySegment program, MemorySegment size) {
        size.reinterpret(8).set(JAVA_LONG, 0, image.length);
        return 0;
    }

    static int nvrtcGetImage(MemorySegment program, MemorySegment out) {
        MemorySegment.copy(MemorySegment.ofArray(image), 0, out.reinterpret(image.length), 0, image.length);
        return 0;
    }

    static int nvrtcDestroyProgram(MemorySegment program) {
        if (program.reinterpret(8).get(ADDRESS, 0).equals(PROGRAM_HANDLE)) destroyed++;
        return 0;
    }

    private static Nvrtc fakeNvrtc() {
        FunctionDescriptor sizeOut = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS);
        FakeLibrary lib = new FakeLibrary()
                .export("nvrtcVersion", NvrtcBindingTest.class, "nvrtcVersion", sizeOut)
                .export("nvrtcGetNumSupportedArchs", NvrtcBindingTest.class, "nvrtcGetNumSupportedArchs", FunctionDescriptor.of(JAVA_INT, ADDRESS))
                .export("nvrtcGetSupportedArchs", NvrtcBindingTest.class, "nvrtcGetSupportedArchs", FunctionDescriptor.of(JAVA_INT, ADDRESS))
                .export("nvrtcGetErrorString", NvrtcBindingTest.class, "nvrtcGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT))
                .export("nvrtcCreateProgram", NvrtcBindingTest.class, "nvrtcCreateProgram",
                        FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS))
                .export("nvrtcCompileProgram", NvrtcBindingTest.class, "nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS))
                .export("nvrtcDestroyProgram", NvrtcBindingTest.class, "nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS))
                .export("nvrtcGetProgramLogSize", NvrtcBindingTest.class, "nvrtcGetProgramLogSize", sizeOut)
                .export("nvrtcGetProgramLog", NvrtcBindingTest.class, "nvrtcGetProgramLog", sizeOut);
        for (String kind : new String[] {"CUBIN", "PTX"}) {
            lib.export("nvrtcGet" + kind + "Size", NvrtcBindingTest.class, "nvrtcGetImageSize", sizeOut);
            lib.export("nvrtcGet" + kind, NvrtcBindingTest.class, "nvrtcGetImage", sizeOut);
        }
        return new Nvrtc(lib.library("libnvrtc.so.13"));
    }

    @Test
    void versionAndArchitecturesAreRead() {
        Nvrtc nvrtc = fakeNvrtc();
        assertEquals("13.0", nvrtc.version());
        assertArrayEquals(new int[] {75, 80, 90}, nvrtc.supportedArchs);
    }

    @Test
    void compilationPassesSourceNameAndOptionsAndReturnsTheImage() {
        Nvrtc nvrtc = fakeNvrtc();
        int before = destroyed;
        Nvrtc.Output out = nvrtc.compile("__global__ void k() {}", "unary.cu", List.of("--gpu-architecture=sm_90", "-DT=float"), true);
        assertEquals("__global__ void k() {}", source);
        assertEquals("unary.cu", name);
        assertEquals("IMAGE [--gpu-architecture=sm_90, -DT=float]\0", new String(out.image(), StandardCharsets.UTF_8));
        assertEquals(before + 1, destroyed);
    }

    @Test
    void aFailedCompilationThrowsWithTheLogAndFreesTheProgram() {
        Nvrtc nvrtc = fakeNvrtc();
        int before = destroyed;
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> nvrtc.compile("#error nope", "gemm.cu", List.of("-DT=double"), true));
        assertTrue(e.getMessage().contains("could not compile gemm.cu (NVRTC_ERROR_COMPILATION)")
                && e.getMessage().contains("gemm.cu(1): error: the source says #error"), e.getMessage());
        assertEquals(before + 1, destroyed);
    }

    @Test
    void kernelImagesAreCachedOnDiskByOptionsAndSource(@TempDir Path cache) {
        String previous = System.getProperty("kiln.cuda.cache");
        System.setProperty("kiln.cuda.cache", cache.toString());
        try {
            KernelCompiler compiler = new KernelCompiler(fakeNvrtc(), new KernelCompiler.Target(90, true));
            int before = compiledOptions.size();
            byte[] first = compiler.compile("binary", "kernel source", " -DT=float");
            byte[] again = compiler.compile("binary", "kernel source", " -DT=float");
            compiler.compile("binary", "kernel source", " -DT=double");
            assertArrayEquals(first, again);
            assertEquals(List.of("--gpu-architecture=sm_90 --std=c++17 -DKILN_FP64 -DT=float",
                    "--gpu-architecture=sm_90 --std=c++17 -DKILN_FP64 -DT=double"), compiledOptions.subList(before, compiledOptions.size()));
            assertEquals("NVRTC 13.0 from libnvrtc.so.13 from /fake (test), cubin for sm_90", compiler.describe());
        } finally {
            if (previous == null) System.clearProperty("kiln.cuda.cache");
            else System.setProperty("kiln.cuda.cache", previous);
        }
    }
}
