package dev.kiln.nn.zoo;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How to run a zoo model.
 *
 * @param quick a run of seconds on a slice of the data that shows the loss falling (the tests' mode), instead of the full recipe
 * @param seed  seeds initialisation, shuffling, noise and sampling
 * @param out   the folder for the checkpoint, the loss log and any pictures (created when missing)
 * @param log   progress lines go here
 */
public record ZooOptions(boolean quick, long seed, Path out, PrintWriter log) {
    public ZooOptions {
        Objects.requireNonNull(out, "ZooOptions: out");
        Objects.requireNonNull(log, "ZooOptions: log");
    }

    /** A progress line, flushed at once (training runs for minutes). */
    public void say(String format, Object... args) {
        log.printf(java.util.Locale.ROOT, format + "%n", args);
        log.flush();
    }

    /** {@code full} in full mode, {@code quick} in quick mode. */
    public int pick(int full, int quick) { return this.quick ? quick : full; }
}
