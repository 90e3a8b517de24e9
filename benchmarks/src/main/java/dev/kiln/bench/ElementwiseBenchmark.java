package dev.kiln.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/** Elementwise kernels against a copy of equal traffic. Rows are defined once, in {@link Rows}; {@code -p device=opencl} times another backend. */
public class ElementwiseBenchmark extends RowBenchmark {
    @Param({"add_1M", "add_4M", "add_16M", "exp_1M", "exp_4M", "exp_16M", "relu_1M", "relu_4M", "relu_16M"})
    public String name;

    @Override
    protected String row() { return name; }

    /** A copy moving as many bytes as the kernel reads and writes: the bandwidth ceiling. */
    @Benchmark
    public void copyCeiling() { reference(); }
}
