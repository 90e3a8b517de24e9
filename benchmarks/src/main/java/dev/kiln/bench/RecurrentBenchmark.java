package dev.kiln.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/** A 2-layer LSTM (T=64, B=32, 256 in and hidden), forward and forward+backward, against PyTorch's when built with -Ppytorch (without it, {@code pytorch()} fails: the row has no reference). Rows are defined once, in {@link Rows}. */
public class RecurrentBenchmark extends RowBenchmark {
    @Param({"lstm2_t64b32i256h256_forward", "lstm2_t64b32i256h256_forward_backward"})
    public String name;

    @Override
    protected String row() { return name; }

    @Benchmark
    public void pytorch() { reference(); }
}
