package dev.kiln.bench;

import org.openjdk.jmh.annotations.Param;

/** Softmax over the last axis (no reference library yet). Rows are defined once, in {@link Rows}; {@code -p device=opencl} times another backend. */
public class SoftmaxBenchmark extends RowBenchmark {
    @Param({"softmax_64x1024", "softmax_4096x768"})
    public String name;

    @Override
    protected String row() { return name; }
}
