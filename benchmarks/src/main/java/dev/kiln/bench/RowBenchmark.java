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

/**
 * The JMH side of a family of {@link Rows}: one benchmark per row id, Kiln's workload as {@link #kiln()} and the
 * reference as whatever method the subclass names after it. Subclasses declare the row ids as a {@code @Param}
 * field and return it from {@link #row()}; {@code -p device=opencl} times another backend.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
        "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-Dorg.bytedeco.javacpp.maxBytes=0", "-Xmx8g"})
public abstract class RowBenchmark {
    @Param({"cpu"})
    public String device;

    private RowRunner runner;

    /** The row id this trial runs. */
    protected abstract String row();

    @Setup
    public void setup() { runner = new RowRunner(device, row()); }

    @Benchmark
    public void kiln() { runner.ours(); }

    /** The row's reference workload, for subclasses to expose under the reference's name. */
    protected void reference() { runner.ref(); }

    @TearDown
    public void tearDown() { runner.close(); }
}
