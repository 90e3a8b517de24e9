package dev.kiln.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LibraryLocatorTest {
    @TempDir
    Path tmp;

    /** An opener that "loads" any existing file and nothing by soname, recording what it was asked for. */
    private static LibraryLocator.Opener filesOnly(List<String> asked) {
        return name -> {
            asked.add(name);
            if (name.contains("/") && Files.exists(Path.of(name))) return SymbolLookup.loaderLookup();
            throw new IllegalArgumentException("cannot open " + name);
        };
    }

    private Path fakeLibrary(Path folder, String soname) throws IOException {
        Files.createDirectories(folder);
        return Files.writeString(folder.resolve(soname), "not really ELF");
    }

    @Test
    void findsPipWheelFoldersUnderSitePackages() throws IOException {
        Path site = tmp.resolve("venv/lib/python3.12/site-packages");
        fakeLibrary(site.resolve("nvidia/cublas/lib"), "libcublas.so.13");
        fakeLibrary(site.resolve("nvidia/cudnn/lib"), "libcudnn.so.9");
        Files.createDirectories(site.resolve("nvidia/no_lib_folder"));
        Files.createDirectories(site.resolve("torch/lib"));

        assertEquals(List.of(site), LibraryLocator.environmentSitePackages(tmp.resolve("venv")));
        assertEquals(List.of(site.resolve("nvidia/cublas/lib"), site.resolve("nvidia/cudnn/lib")),
                LibraryLocator.nvidiaLibraryFolders(List.of(site, tmp.resolve("absent"))));
    }

    @Test
    void configuredFoldersComeFirstThenLoaderThenPython() throws IOException {
        Path configured = tmp.resolve("configured"), site = tmp.resolve("site");
        fakeLibrary(site.resolve("nvidia/cuda_nvrtc/lib"), "libnvrtc.so.13");
        List<String> asked = new ArrayList<>();
        LibraryLocator locator = new LibraryLocator(List.of(configured), () -> List.of(site), filesOnly(asked));

        LibraryLocator.Result r = locator.find("NVRTC", List.of("libnvrtc.so.13", "libnvrtc.so.12"), true);

        assertTrue(r.found(), r.reason());
        assertEquals(site.resolve("nvidia/cuda_nvrtc/lib/libnvrtc.so.13").toString(), r.library().path());
        assertEquals("Python environment", r.library().foundBy());
        // Both sonames went to the system loader before the Python environment was searched.
        assertEquals(List.of("libnvrtc.so.13", "libnvrtc.so.12", r.library().path()), asked);

        fakeLibrary(configured, "libnvrtc.so.12");
        LibraryLocator.Result explicit = new LibraryLocator(List.of(configured), () -> List.of(site), filesOnly(new ArrayList<>()))
                .find("NVRTC", List.of("libnvrtc.so.13", "libnvrtc.so.12"), true);
        // A folder named explicitly wins over the Python environment, even with an older soname.
        assertEquals("-Dkiln.cuda.libraryPath", explicit.library().foundBy());
    }

    @Test
    void pythonIsAskedOnlyWhenNeededAndOnce() throws IOException {
        Path configured = tmp.resolve("configured");
        fakeLibrary(configured, "libcublas.so.13");
        AtomicInteger pythonCalls = new AtomicInteger();
        LibraryLocator locator = new LibraryLocator(List.of(configured), () -> {
            pythonCalls.incrementAndGet();
            return List.of();
        }, filesOnly(new ArrayList<>()));

        assertTrue(locator.find("cuBLAS", List.of("libcublas.so.13"), true).found());
        assertEquals(0, pythonCalls.get());
        assertFalse(locator.find("cuDNN", List.of("libcudnn.so.9"), true).found());
        assertFalse(locator.find("NVRTC", List.of("libnvrtc.so.13"), true).found());
        assertEquals(1, pythonCalls.get());
    }

    @Test
    void reasonNamesWhatWasTriedAndWhatFailedToLoad() throws IOException {
        Path configured = tmp.resolve("configured");
        Path broken = fakeLibrary(configured, "libcuda.so.1");
        LibraryLocator locator = new LibraryLocator(List.of(configured), List::of, name -> {
            throw new IllegalArgumentException("invalid ELF header");
        });

        LibraryLocator.Result r = locator.find("the NVIDIA driver", List.of("libcuda.so.1"), false);

        assertFalse(r.found());
        assertTrue(r.reason().startsWith("the NVIDIA driver not found (libcuda.so.1"), r.reason());
        assertFalse(r.reason().contains("Python"), r.reason());
        assertTrue(r.reason().contains(broken + ": invalid ELF header"), r.reason());
    }

    @Test
    void realLoaderRefusesAFileThatIsNotALibrary() throws IOException {
        Path configured = tmp.resolve("configured");
        fakeLibrary(configured, "libcuda.so.1");
        LibraryLocator locator = new LibraryLocator(List.of(configured), List::of, LibraryLocator.systemOpener());

        LibraryLocator.Result r = locator.find("the NVIDIA driver", List.of("libcuda.so.1"), false);

        assertFalse(r.found());
        assertTrue(r.reason().contains("present but not loadable: " + configured.resolve("libcuda.so.1")), r.reason());
    }

    @Test
    void folderListsSplitOnThePathSeparator() {
        assertEquals(List.of(Path.of("/a"), Path.of("/b c")), LibraryLocator.folders("/a: :/b c"));
        assertEquals(List.of(), LibraryLocator.folders(null));
    }

    @Test
    void companionsInTheLibrarysFolderAreOpenedFirst() throws IOException {
        Path lib = tmp.resolve("site/nvidia/cublas/lib");
        fakeLibrary(lib, "libcublas.so.13");
        fakeLibrary(lib, "libcublasLt.so.13");
        fakeLibrary(lib, "libnvblas.so.13");
        List<String> asked = new ArrayList<>();
        LibraryLocator locator = new LibraryLocator(List.of(), () -> List.of(tmp.resolve("site")), filesOnly(asked));

        assertTrue(locator.find("cuBLAS", List.of("libcublas.so.13"), true, List.of("libcublasLt.so")).found());

        assertEquals(List.of("libcublas.so.13", lib.resolve("libcublasLt.so.13").toString(), lib.resolve("libcublas.so.13").toString()), asked);
    }
}
