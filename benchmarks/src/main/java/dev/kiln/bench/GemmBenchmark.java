package dev.kiln.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/** GEMM, Kiln against OpenBLAS's cblas_sgemm in the same fork. Rows are defined once, in {@link Rows}; {@code -p device=opencl} times another backend. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-Dorg.bytedeco.javacpp.maxBytes=0", "-Xmx8g"})
public class GemmBenchmark {
    @Param({"cpu"})
    public String device;

    @Param({"sgemm_256", "sgemm_384", "sgemm_512", "sgemm_768", "sgemm_1024", "sgemm_1536", "sgemm_2048",
            "sgemm_ffn_up_2048x3072x768", "sgemm_ffn_down_2048x768x3072", "bmm_attn_96x256x256x64", "sgemm_conv_64x3136x576"})
    public String name;

    private RowRunner runner;

    @Setup
    public void setup() { runner = new RowRunner(device, name); }

    @Benchmark
    public void kiln() { runner.ours(); }

    @Benchmark
    public void openblas() { runner.ref(); }

    @TearDown
    public void tearDown() { runner.close(); }
}
