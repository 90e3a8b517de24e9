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
    /** Checks that {@code out} and {@code log} are given. */
    public ZooOptions {
        Objects.requireNonNull(out, "ZooOptions: out");
        Objects.requireNonNull(log, "ZooOptions: log");
    }

    /**
     * Writes a progress line, flushed at once (training runs for minutes).
     *
     * @param format a {@link java.util.Formatter} format, formatted in the root locale; the line break is added
     * @param args its arguments
     */
    public void say(String format, Object... args) {
        log.printf(java.util.Locale.ROOT, format + "%n", args);
        log.flush();
    }

    /**
     * Picks a setting by mode.
     *
     * @param full the value for the full recipe
     * @param quick the value for the quick run
     * @return {@code full} in full mode, {@code quick} in quick mode
     */

    public int pick(int full, int quick) { return this.quick ? quick : full; }
}
