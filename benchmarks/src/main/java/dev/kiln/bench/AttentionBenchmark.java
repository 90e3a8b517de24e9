package dev.kiln.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/** Causal scaled dot-product attention, forward and forward+backward, against PyTorch's when built with -Ppytorch (without it, {@code pytorch()} fails: the row has no reference). Rows are defined once, in {@link Rows}. */
public class AttentionBenchmark extends RowBenchmark {
    @Param({"sdpa_b8h4t256d32_causal_forward", "sdpa_b8h4t256d32_causal_forward_backward"})
    public String name;

    @Override
    protected String row() { return name; }

    @Benchmark
    public void pytorch() { reference(); }
}
