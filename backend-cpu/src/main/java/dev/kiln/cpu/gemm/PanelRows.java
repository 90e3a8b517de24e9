package dev.kiln.cpu.gemm;

/**
 * Where the rows of a B operand lie, for the micro-kernel: rows come in runs of {@code length}, run r's first row
 * at element {@code starts[r]} and its rows {@code stride} elements apart, so row p is at
 * {@code starts[p / length] + (p % length) * stride}. A packed panel or an ordinary matrix is one run; a
 * convolution's input read in place as its column matrix is one run per kernel tap (the tap's shift of the padded
 * image, rows one channel plane apart). Runs rather than a table of rows keep the kernel's inner loop linear in the
 * row, which C2 compiles free of bounds checks: a table lookup per row cost the kernel 10-15%.
 */
public record PanelRows(long[] starts, int length, long stride) {
    /** One run of evenly spaced rows from element {@code first}. */
    public static PanelRows even(long first, long stride) { return new PanelRows(new long[] {first}, Integer.MAX_VALUE, stride); }
}
