package dev.kiln.cuda;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Finds CUDA's shared libraries. Each soname is tried, in this order, in the folders of {@code -Dkiln.cuda.libraryPath}
 * (an explicit choice wins), by the system loader (LD_LIBRARY_PATH, the ldconfig cache), and in the {@code nvidia/<x>/lib}
 * folders of the active Python environment, which is where pip's CUDA wheels (and so most PyTorch users' cuBLAS, cuDNN
 * and NVRTC) live. The Python environment is {@code $VIRTUAL_ENV} or {@code $CONDA_PREFIX}, else whatever
 * {@code python3} reports as its site-packages; python3 is asked at most once per process, only when a library was
 * not found earlier, and given a few seconds.
 */
final class LibraryLocator {
    private static final Logger LOG = Logger.getLogger(LibraryLocator.class.getName());
    static final String LIBRARY_PATH_PROPERTY = "kiln.cuda.libraryPath";
    private static final long PYTHON_TIMEOUT_SECONDS = 5;

    /** Opens a library by file path or, for a bare soname, through the system loader; throws when it cannot. */
    interface Opener {
        SymbolLookup open(String pathOrSoname);
    }

    /** Outcome of a search: the library, or why none of the sonames could be loaded. */
    record Result(NativeLibrary library, String reason) {
        boolean found() { return library != null; }
    }

    private final List<Path> configuredFolders;
    private final Supplier<List<Path>> sitePackages;
    private final Opener opener;
    private List<Path> pythonFolders;

    LibraryLocator(List<Path> configuredFolders, Supplier<List<Path>> sitePackages, Opener opener) {
        this.configuredFolders = List.copyOf(configuredFolders);
        this.sitePackages = sitePackages;
        this.opener = opener;
    }

    /** The locator the backend uses: the system property, the process's Python environment, the real loader. */
    static LibraryLocator system() {
        return SystemHolder.INSTANCE;
    }

    private static final class SystemHolder {
        static final LibraryLocator INSTANCE = new LibraryLocator(
                folders(System.getProperty(LIBRARY_PATH_PROPERTY)), LibraryLocator::pythonSitePackages, systemOpener());
    }

    /** dlopen of a file, or of a soname through the loader's search; libraries stay loaded for the process. */
    static Opener systemOpener() {
        return name -> name.contains("/") ? SymbolLookup.libraryLookup(Path.of(name), Arena.global())
                : SymbolLookup.libraryLookup(name, Arena.global());
    }

    /** The folders of a {@link File#pathSeparator}-separated list; blank or null gives none. */
    static List<Path> folders(String list) {
        List<Path> out = new ArrayList<>();
        if (list == null) return out;
        for (String s : list.split(File.pathSeparator)) if (!s.isBlank()) out.add(Path.of(s.trim()));
        return out;
    }

    /**
     * Loads the first of {@code sonames} (newest first, e.g. libnvrtc.so.13 then .12) that opens.
     * {@code withPython} adds the Python environment's folders (not for the driver, which pip never ships).
     */
    Result find(String what, List<String> sonames, boolean withPython) { return find(what, sonames, withPython, List.of()); }

    /**
     * As {@link #find(String, List, boolean)}, first opening, from the folder a library is found in, the files whose
     * names start with one of {@code companions}: libraries it needs or loads by soname that the system loader would
     * not find there (libcublasLt next to libcublas, libnvrtc-builtins next to libnvrtc, when the folder has no
     * RPATH of its own). Once open, the loader matches them by soname. A companion that fails to open is skipped.
     */
    synchronized Result find(String what, List<String> sonames, boolean withPython, List<String> companions) {
        List<String> failures = new ArrayList<>();
        for (String soname : sonames) {
            NativeLibrary lib = tryFolders(soname, configuredFolders, "-D" + LIBRARY_PATH_PROPERTY, companions, failures);
            if (lib != null) return new Result(lib, null);
            try {
                SymbolLookup lookup = opener.open(soname);
                return new Result(new NativeLibrary(soname, loadedPath(soname), "system loader", lookup), null);
            } catch (RuntimeException e) {
                // Not on the loader's path: the common case, listed in the reason below as "not found".
            }
        }
        if (withPython) {
            for (String soname : sonames) {
                NativeLibrary lib = tryFolders(soname, pythonLibraryFolders(), "Python environment", companions, failures);
                if (lib != null) return new Result(lib, null);
            }
        }
        StringBuilder why = new StringBuilder(what).append(" not found (").append(String.join(", ", sonames))
                .append(" looked up in -D").append(LIBRARY_PATH_PROPERTY).append(", the system loader's path");
        if (withPython) why.append(", the nvidia/*/lib folders of the Python environment");
        why.append(')');
        if (!failures.isEmpty()) why.append("; present but not loadable: ").append(String.join("; ", failures));
        return new Result(null, why.toString());
    }

    private NativeLibrary tryFolders(String soname, List<Path> folders, String foundBy, List<String> companions, List<String> failures) {
        for (Path folder : folders) {
            Path file = folder.resolve(soname);
            if (!Files.exists(file)) continue;
            openCompanions(folder, companions);
            try {
                return new NativeLibrary(soname, file.toString(), foundBy, opener.open(file.toString()));
            } catch (RuntimeException e) {
                failures.add(file + ": " + e.getMessage());
            }
        }
        return null;
    }

    private void openCompanions(Path folder, List<String> prefixes) {
        if (prefixes.isEmpty()) return;
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> all = Files.newDirectoryStream(folder)) {
            for (Path p : all) if (prefixes.stream().anyMatch(p.getFileName().toString()::startsWith)) files.add(p);
        } catch (IOException e) {
            LOG.log(Level.FINE, "cannot list " + folder, e);
        }
        files.sort(null);
        for (Path p : files) {
            try {
                opener.open(p.toString());
            } catch (RuntimeException e) {
                LOG.log(Level.FINE, "companion library " + p + " did not open", e);
            }
        }
    }

    /** The {@code nvidia/<package>/lib} folders under the Python environment's site-packages, sorted; computed once. */
    synchronized List<Path> pythonLibraryFolders() {
        if (pythonFolders == null) pythonFolders = nvidiaLibraryFolders(sitePackages.get());
        return pythonFolders;
    }

    static List<Path> nvidiaLibraryFolders(List<Path> sitePackageFolders) {
        List<Path> out = new ArrayList<>();
        for (Path site : sitePackageFolders) {
            Path nvidia = site.resolve("nvidia");
            if (!Files.isDirectory(nvidia)) continue;
            List<Path> found = new ArrayList<>();
            try (DirectoryStream<Path> packages = Files.newDirectoryStream(nvidia)) {
                for (Path p : packages) if (Files.isDirectory(p.resolve("lib"))) found.add(p.resolve("lib"));
            } catch (IOException e) {
                LOG.log(Level.FINE, "cannot list " + nvidia, e);
            }
            found.sort(null);
            out.addAll(found);
        }
        return out;
    }

    /** The site-packages folders of {@code $VIRTUAL_ENV} / {@code $CONDA_PREFIX}, else those python3 reports. */
    static List<Path> pythonSitePackages() {
        for (String variable : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
            String prefix = System.getenv(variable);
            if (prefix != null && !prefix.isBlank()) return environmentSitePackages(Path.of(prefix));
        }
        return askPython();
    }

    /** {@code <prefix>/lib/python3.*}{@code /site-packages}, the layout of venv and conda environments. */
    static List<Path> environmentSitePackages(Path prefix) {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> libs = Files.newDirectoryStream(prefix.resolve("lib"), "python3*")) {
            for (Path p : libs) if (Files.isDirectory(p.resolve("site-packages"))) out.add(p.resolve("site-packages"));
        } catch (IOException e) {
            LOG.log(Level.FINE, "no Python library folder under " + prefix, e);
        }
        out.sort(null);
        return out;
    }

    private static List<Path> askPython() {
        String script = "import site\nfor p in site.getsitepackages() + [site.getusersitepackages()]: print(p)";
        try {
            Process p = new ProcessBuilder("python3", "-c", script).redirectErrorStream(false).start();
            p.getOutputStream().close();
            if (!p.waitFor(PYTHON_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                LOG.fine("python3 did not report its site-packages within " + PYTHON_TIMEOUT_SECONDS + " s");
                return List.of();
            }
            if (p.exitValue() != 0) return List.of();
            try (InputStream in = p.getInputStream()) {
                return folders(new String(in.readAllBytes(), StandardCharsets.UTF_8).strip().replace('\n', File.pathSeparatorChar));
            }
        } catch (IOException e) {
            return List.of(); // no python3 on this machine
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
    }

    /** The file the loader chose for {@code soname}, read from /proc/self/maps; the soname itself if not found. */
    static String loadedPath(String soname) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int slash = line.indexOf('/');
                if (slash < 0) continue;
                String file = line.substring(slash);
                if (file.endsWith("/" + soname) || file.contains("/" + soname + ".")) return file;
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.FINE, "cannot read /proc/self/maps", e);
        }
        return soname;
    }
}
