package dev.kiln.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/** Reductions against a copy of equal traffic. Rows are defined once, in {@link Rows}; {@code -p device=opencl} times another backend. */
public class ReductionBenchmark extends RowBenchmark {
    @Param({"sum_all_1M", "sum_all_4M", "sum_all_16M", "sum_rows_4096x768", "max_rows_4096x768", "sum_cols_4096x768"})
    public String name;

    @Override
    protected String row() { return name; }

    /** A copy moving as many bytes as the kernel reads and writes: the bandwidth ceiling. */
    @Benchmark
    public void copyCeiling() { reference(); }
}
