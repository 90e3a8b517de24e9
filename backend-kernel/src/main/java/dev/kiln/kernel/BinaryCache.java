package dev.kiln.kernel;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Compiled kernels on disk, for the runtimes whose compilers take long (an OpenCL driver, NVRTC): one file per image,
 * named by the SHA-256 of everything that decides it (the compiler's identity, the options, the source), so a second
 * run loads instead of compiling and a new driver, compiler or source compiles afresh. The folder is
 * {@code -Dkiln.<api>.cache}, else {@code $XDG_CACHE_HOME/kiln/<api>}, else {@code ~/.cache/kiln/<api>}. A cache
 * that cannot be read or written only costs the compilation (logged at FINE).
 */
public final class BinaryCache {
    private static final Logger LOG = Logger.getLogger(BinaryCache.class.getName());
    private final Path directory;

    /**
     * The cache of one device API, in the folder {@code kiln.<api>.cache} names, else
     * {@code $XDG_CACHE_HOME/kiln/<api>} or {@code ~/.cache/kiln/<api>}.
     *
     * @param api "opencl" or "cuda"
     */
    public BinaryCache(String api) {
        String configured = System.getProperty("kiln." + api + ".cache");
        if (configured != null && !configured.isBlank()) {
            directory = Path.of(configured);
        } else {
            String xdg = System.getenv("XDG_CACHE_HOME");
            Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
            directory = base.resolve("kiln").resolve(api);
        }
    }

    /**
     * The file for the image that {@code keyParts} decide (named by their SHA-256).
     *
     * @param extension the file's extension (".bin", ".cubin")
     * @param keyParts everything the image depends on: source, options, device, driver
     * @return the file, which may not exist
     */
    public Path file(String extension, String... keyParts) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (String part : keyParts) {
                sha.update(part.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
            }
            return directory.resolve(HexFormat.of().formatHex(sha.digest()) + extension);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * Reads a stored image.
     *
     * @param file a file from {@link #file}
     * @return the stored image, or null when there is none or it cannot be read
     */
    public byte[] read(Path file) {
        if (!Files.isRegularFile(file)) return null;
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            LOG.log(Level.FINE, "cannot read cached kernel image " + file, e);
            return null;
        }
    }

    /**
     * Stores an image atomically (a temp file, then a rename) so a concurrent reader never sees half an image; a
     * failure to write is logged, not thrown (the cache is an optimisation).
     *
     * @param file a file from {@link #file}
     * @param image the image; an empty one is not stored
     */

    public void store(Path file, byte[] image) {
        if (image.length == 0) return;
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
            Files.write(tmp, image);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UnsupportedOperationException e) {
            LOG.log(Level.FINE, "cannot cache a kernel image in " + file.getParent(), e);
        }
    }
}
