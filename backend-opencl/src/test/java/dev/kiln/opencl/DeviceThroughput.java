package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.backend.Backend;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.View;

/**
 * Run by hand, not by the test suite (no timing is asserted anywhere): the best of five timings, after a warm-up,
 * of a square float32 matmul (GFLOP/s), a large elementwise add (GB/s) and a tiny add (microseconds per
 * launch, what small training steps pay). Any backend on the class path can be named, so the OpenCL CPU device
 * and the CPU backend can be compared: {@code java ... dev.kiln.opencl.DeviceThroughput opencl 512 1024}.
 */
public final class DeviceThroughput {
    private DeviceThroughput() {}

    public static void main(String[] args) {
        Backend be = DeviceProbe.backend(Device.parse(args.length > 0 ? args[0] : "opencl"));
        System.out.println(be.device() + ": " + be.description());
        for (int i = 1; i < args.length; i++) gemm(be, Integer.parseInt(args[i]));
        add(be, 1 << 22, 1);
        add(be, 64, 1000);
    }

    private static void gemm(Backend be, int n) {
        View a = be.allocateView(DType.FLOAT32, n, n), b = be.allocateView(DType.FLOAT32, n, n), c = be.allocateView(DType.FLOAT32, n, n);
        be.random(Distribution.UNIFORM, -1, 1, 1, 0, a);
        be.random(Distribution.UNIFORM, -1, 1, 2, 0, b);
        double s = best(be, () -> be.matmul(a, b, c));
        System.out.printf("matmul n=%d: %.4f s, %.1f GFLOP/s%n", n, s, 2.0 * n * n * n / s / 1e9);
        for (View v : new View[] {a, b, c}) be.release(v.buffer());
    }

    private static void add(Backend be, int n, int launches) {
        View a = be.allocateView(DType.FLOAT32, n), b = be.allocateView(DType.FLOAT32, n), c = be.allocateView(DType.FLOAT32, n);
        be.fill(a, 1);
        be.fill(b, 2);
        double s = best(be, () -> {
            for (int i = 0; i < launches; i++) be.binary(BinaryOp.ADD, a, b, c);
        });
        if (launches == 1) System.out.printf("add n=%d: %.4f s, %.1f GB/s%n", n, s, 12.0 * n / s / 1e9);
        else System.out.printf("add n=%d: %.1f us per launch%n", n, s / launches * 1e6);
        for (View v : new View[] {a, b, c}) be.release(v.buffer());
    }

    private static double best(Backend be, Runnable work) {
        work.run();
        be.synchronize();
        double best = Double.MAX_VALUE;
        for (int rep = 0; rep < 5; rep++) {
            long t0 = System.nanoTime();
            work.run();
            be.synchronize();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }
}
