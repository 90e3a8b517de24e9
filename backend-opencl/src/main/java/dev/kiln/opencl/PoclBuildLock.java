package dev.kiln.opencl;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Serialises PoCL program builds across processes. PoCL keeps what it compiles in one cache folder per user
 * ({@code POCL_CACHE_DIR}, else {@code $XDG_CACHE_HOME/pocl/kcache} or {@code ~/.cache/pocl/kcache}), and its
 * builds are not safe against other processes building the same program into that folder at the same time: the
 * build fails ("Device ... failed to build the program", an empty build log). That was the intermittent failure of
 * the OpenCL tests while several test JVMs ran at once (backend-opencl/README.md has the runs). Each build holds an
 * advisory lock on a file in that folder ({@code fcntl} through {@link FileChannel#lock}), so concurrent Kiln
 * processes build one at a time; within a JVM, threads queue on a plain monitor first, since one JVM cannot hold
 * the same file lock twice. Where the file cannot be locked (a read-only folder), the build runs unguarded.
 */
final class PoclBuildLock {
    private static final Logger LOG = Logger.getLogger(PoclBuildLock.class.getName());
    private static final Object IN_PROCESS = new Object();

    private PoclBuildLock() {}

    /** PoCL's cache folder, found as PoCL finds it. */
    static Path cacheFolder() {
        String configured = System.getenv("POCL_CACHE_DIR");
        if (configured != null && !configured.isEmpty()) return Path.of(configured);
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("pocl").resolve("kcache");
    }

    /**
     * Runs a build while holding the lock.
     *
     * @param build the build
     * @param <T> what it returns
     * @return what it returned
     */
    static <T> T around(Supplier<T> build) {
        synchronized (IN_PROCESS) {
            FileChannel channel = null;
            FileLock lock = null;
            try {
                Path folder = cacheFolder();
                Files.createDirectories(folder);
                channel = FileChannel.open(folder.resolve("kiln-build.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                lock = channel.lock();
            } catch (IOException | UnsupportedOperationException e) {
                LOG.log(Level.FINE, "PoCL builds run without the cross-process lock", e);
            }
            try {
                return build.get();
            } finally {
                try {
                    if (lock != null) lock.release();
                    if (channel != null) channel.close();
                } catch (IOException e) {
                    LOG.log(Level.FINE, "releasing the PoCL build lock", e);
                }
            }
        }
    }
}
