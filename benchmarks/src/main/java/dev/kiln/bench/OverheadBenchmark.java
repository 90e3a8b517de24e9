package dev.kiln.bench;

import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Per-op overhead: ops on 1-element float32 tensors, where the kernel is negligible and everything measured is
 * the tensor layer, autograd and the allocator. Each op closes what it creates, as a training loop's scope would.
 * {@code benchmarks/bench.sh jmh Overhead}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
// C2 takes tens of thousands of steps to settle on these call chains, longer on a loaded machine.
@Warmup(iterations = 6, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class OverheadBenchmark {
    private Tensor x, y, w;

    @Setup
    public void setup() {
        x = Tensor.of(new float[] {1.5f});
        y = Tensor.of(new float[] {2.5f});
        w = Tensor.of(new float[] {0.5f}).requiresGrad(true);
    }

    /** One op without autograd: what inference pays per op. */
    @Benchmark
    public void addNoGrad() {
        try (GradMode ignored = GradMode.noGrad(); Tensor z = x.add(y)) {
            // the op and its close are the measurement
        }
    }

    /** One recorded op whose graph is dropped unused: the cost of recording. */
    @Benchmark
    public void addRecorded() {
        try (Tensor z = w.add(x)) {
            // the unused node, and the storage references it holds, are left to the Cleaner as in a real dropped graph
        }
    }

    /** Two ops forward and backward in a step scope, accumulating into a leaf's gradient. */
    @Benchmark
    public void mulSumForwardBackward() {
        try (dev.kiln.Scope step = dev.kiln.Scope.open()) {
            w.mul(x).sum().backward();
        }
    }

    @TearDown
    public void tearDown() {
        x.close();
        y.close();
        w.close();
    }
}
