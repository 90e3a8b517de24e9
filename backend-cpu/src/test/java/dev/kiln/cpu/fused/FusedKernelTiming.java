package dev.kiln.cpu.fused;

import dev.kiln.DType;
import dev.kiln.backend.Backend;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.Pool2dSpec;
import dev.kiln.backend.View;
import dev.kiln.cpu.CpuBackend;

import java.util.Arrays;
import java.util.Locale;

/**
 * A by-hand timing of the CPU fused kernels against the SPI's composed defaults on the same backend (so both use
 * the same GEMM and primitives), one workload per line with medians: not a test, and it asserts nothing.
 * Run from the repository root after {@code mvn -q test-compile -pl backend-cpu -am}:
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp backend-cpu/target/classes:backend-cpu/target/test-classes:runtime-api/target/classes \
 *   dev.kiln.cpu.fused.FusedKernelTiming [reps [name filter]]
 * </pre>
 */
public final class FusedKernelTiming {
    private static final Backend FAST = new CpuBackend();
    private static final Backend COMPOSED = new ComposedDefaults(FAST);
    private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();
    private static String filter = "";
    /** {@code -DperOp=true}: a line for each of the three convolution kernels as well as their sum. */
    private static final boolean perOp = Boolean.getBoolean("perOp");

    public static void main(String[] args) {
        int reps = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        filter = args.length > 1 ? args[1] : "";
        System.out.println(String.format(Locale.ROOT, "%-48s %9s %9s %7s %9s %9s %7s %8s", "workload (median ms)", "composed", "fused",
                "ratio", "cmp cpu", "fused cpu", "ratio", "GFLOP/s"));
        conv("resnet 64->64 56x56 3x3 b32", 32, 64, 56, 56, 64, 3, Conv2dSpec.of(1, 1), reps);
        conv("lenet conv1 1->6 28x28 5x5 p2 b64", 64, 1, 28, 28, 6, 5, Conv2dSpec.of(1, 2), reps);
        conv("lenet conv2 6->16 14x14 5x5 b64", 64, 6, 14, 14, 16, 5, Conv2dSpec.of(1, 0), reps);
        conv("mnist conv2 32->64 14x14 3x3 p1 b64", 64, 32, 14, 14, 64, 3, Conv2dSpec.of(1, 1), reps);
        conv("1x1 256->64 28x28 b32", 32, 256, 28, 28, 64, 1, Conv2dSpec.of(1, 0), reps);
        pool("max_pool2d 2x2 b64x6x28x28", new int[] {64, 6, 28, 28}, Pool2dSpec.of(2, 2, 0), reps);
        pool("max_pool2d 3x3 s2 p1 b32x64x112x112", new int[] {32, 64, 112, 112}, Pool2dSpec.of(3, 2, 1), reps);
        softmax("log_softmax 64x10", new int[] {64, 10}, reps * 20);
        softmax("log_softmax 256x32000", new int[] {256, 32000}, reps);
    }

    private static void conv(String name, int n, int c, int h, int w, int cout, int k, Conv2dSpec spec, int reps) {
        int oh = spec.outH(h, k), ow = spec.outW(w, k);
        View x = filled(n, c, h, w), wt = filled(cout, c, k, k), dy = filled(n, cout, oh, ow);
        View y = FAST.allocateView(DType.FLOAT32, n, cout, oh, ow), dx = FAST.allocateView(DType.FLOAT32, n, c, h, w);
        View dw = FAST.allocateView(DType.FLOAT32, cout, c, k, k);
        double flops = 2.0 * n * cout * c * k * k * oh * ow;
        if (perOp) {
            compare(name + " fwd", flops, reps, be -> be.conv2d(x, wt, spec, y));
            compare(name + " bwd in", flops, reps, be -> be.conv2dBackwardInput(dy, wt, spec, dx));
            compare(name + " bwd w", flops, reps, be -> be.conv2dBackwardWeight(x, dy, spec, dw));
        }
        compare(name + " fwd+bwd", 3 * flops, reps, be -> {
            be.conv2d(x, wt, spec, y);
            be.conv2dBackwardInput(dy, wt, spec, dx);
            be.conv2dBackwardWeight(x, dy, spec, dw);
        });
    }

    private static void pool(String name, int[] shape, Pool2dSpec spec, int reps) {
        View x = filled(shape);
        int[] outShape = {shape[0], shape[1], spec.outH(shape[2]), spec.outW(shape[3])};
        View y = FAST.allocateView(DType.FLOAT32, outShape), idx = FAST.allocateView(DType.INT64, outShape);
        compare(name, 0, reps, be -> be.maxPool2d(x, spec, y, idx));
    }

    private static void softmax(String name, int[] shape, int reps) {
        View x = filled(shape), y = FAST.allocateView(DType.FLOAT32, shape);
        compare(name, 0, reps, be -> be.softmax(x, shape.length - 1, true, y));
    }

    private static void compare(String name, double flops, int reps, java.util.function.Consumer<Backend> work) {
        if (!name.contains(filter)) return;
        double[] composed = medians(COMPOSED, work, Math.max(3, reps / 2));
        double[] fused = medians(FAST, work, reps);
        System.out.println(String.format(Locale.ROOT, "%-48s %9.2f %9.2f %6.1fx %9.2f %9.2f %6.1fx %8s", name,
                composed[0], fused[0], composed[0] / fused[0], composed[1], fused[1], composed[1] / fused[1],
                flops == 0 ? "" : String.format(Locale.ROOT, "%.1f", flops / fused[0] / 1e6)));
    }

    /**
     * Medians of {@code reps} runs after two warm-up runs: wall milliseconds, and milliseconds of CPU time of the
     * calling thread. On a machine shared with other work the second is the steadier figure, and with
     * {@code -Dkiln.cpu.threads=1} it is the whole kernel's cost.
     */
    private static double[] medians(Backend be, java.util.function.Consumer<Backend> work, int reps) {
        for (int i = 0; i < 2; i++) work.accept(be);
        double[] wall = new double[reps], cpu = new double[reps];
        for (int i = 0; i < reps; i++) {
            long c0 = THREADS.getCurrentThreadCpuTime(), t0 = System.nanoTime();
            work.accept(be);
            wall[i] = (System.nanoTime() - t0) / 1e6;
            cpu[i] = (THREADS.getCurrentThreadCpuTime() - c0) / 1e6;
        }
        Arrays.sort(wall);
        Arrays.sort(cpu);
        return new double[] {wall[reps / 2], cpu[reps / 2]};
    }

    private static View filled(int... shape) {
        View v = FAST.allocateView(DType.FLOAT32, shape);
        FAST.random(dev.kiln.backend.Distribution.UNIFORM, -1, 1, 1, 0, v);
        return v;
    }
}
