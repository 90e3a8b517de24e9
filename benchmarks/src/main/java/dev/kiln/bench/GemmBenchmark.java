package dev.kiln.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;

/** GEMM, Kiln against OpenBLAS's cblas_sgemm in the same fork. Rows are defined once, in {@link Rows}; {@code -p device=opencl} times another backend. */
public class GemmBenchmark extends RowBenchmark {
    @Param({"sgemm_256", "sgemm_384", "sgemm_512", "sgemm_768", "sgemm_1024", "sgemm_1536", "sgemm_2048",
            "sgemm_ffn_up_2048x3072x768", "sgemm_ffn_down_2048x768x3072", "bmm_attn_96x256x256x64", "sgemm_conv_64x3136x576"})
    public String name;

    @Override
    protected String row() { return name; }

    @Benchmark
    public void openblas() { reference(); }
}
