package dev.kiln.bench;

/** One timed operation with its inputs already in place; {@link #close()} frees them. */
public interface Workload extends AutoCloseable {

    /** Runs the operation once, to completion (device backends synchronise before returning). */
    void run();

    /** Floating-point operations or bytes moved per run, for the rate column; 0 when not meaningful. */
    default double work() { return 0; }

    /** The unit of {@link #work()}: "GFLOP/s" or "GB/s". */
    default String unit() { return ""; }

    @Override
    void close();
}
