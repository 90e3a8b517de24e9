package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.backend.BinaryOp;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import org.jocl.CL;
import org.jocl.blast.CLBlast;
import org.jocl.blast.CLBlastLayout;
import org.jocl.blast.CLBlastTranspose;
import org.jocl.cl_mem;

import java.util.Arrays;

/**
 * Run by hand, not by the test suite: our float32 matmul (through the SPI) against CLBlast's SGEMM on the same
 * device, queue and buffers, and our elementwise add against the driver's own buffer copy. Each figure is the
 * median of several runs after a warm-up, each run ending with {@code clFinish}.
 * {@code java -cp <module test class path> dev.kiln.opencl.GemmVersusClBlast opencl:0 256 512 1024 2048}.
 */
public final class GemmVersusClBlast {
    private static final int RUNS = 7;
    private static final com.sun.management.OperatingSystemMXBean CPU =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();

    private GemmVersusClBlast() {}

    public static void main(String[] args) {
        KernelBackend<cl_mem> be = OpenClRuntime.backendOf(DeviceProbe.backend(Device.parse(args.length > 0 ? args[0] : "opencl:0")));
        System.out.println(be.device() + ": " + be.description());
        System.out.println("GFLOP per wall second and per process CPU second (all driver threads together)");
        System.out.println("     n     ours  ours/cpu    CLBlast  CLB/cpu   max |ours - CLBlast|");
        for (int i = 1; i < args.length; i++) gemm(be, Integer.parseInt(args[i]));
        bandwidth(be, 1 << 24);
    }

    private static void gemm(KernelBackend<cl_mem> be, int n) {
        View a = be.allocateView(DType.FLOAT32, n, n), b = be.allocateView(DType.FLOAT32, n, n);
        View ours = be.allocateView(DType.FLOAT32, n, n), theirs = be.allocateView(DType.FLOAT32, n, n);
        be.random(Distribution.UNIFORM, -1, 1, 1, 0, a);
        be.random(Distribution.UNIFORM, -1, 1, 2, 0, b);
        double flop = 2.0 * n * n * n;
        double[][] s = medians(be, () -> be.matmul(a, b, ours), () -> CLBlast.CLBlastSgemm(CLBlastLayout.CLBlastLayoutRowMajor,
                CLBlastTranspose.CLBlastTransposeNo, CLBlastTranspose.CLBlastTransposeNo, n, n, n,
                1f, be.memory(a.buffer()), 0, n, be.memory(b.buffer()), 0, n,
                0f, be.memory(theirs.buffer()), 0, n, Devices.runtime(be).queue(), null));
        System.out.printf("%6d %8.1f %8.1f %10.1f %8.1f %14.2e%n", n, flop / s[0][0] / 1e9, flop / s[0][1] / 1e9,
                flop / s[1][0] / 1e9, flop / s[1][1] / 1e9, maxDifference(be, ours, theirs));
        for (View v : new View[] {a, b, ours, theirs}) be.release(v.buffer());
    }

    /** Add moves 12 bytes per element (two reads, one write), a copy 8 (one read, one write). */
    private static void bandwidth(KernelBackend<cl_mem> be, int n) {
        View a = be.allocateView(DType.FLOAT32, n), b = be.allocateView(DType.FLOAT32, n), c = be.allocateView(DType.FLOAT32, n);
        be.fill(a, 1);
        be.fill(b, 2);
        double[][] s = medians(be, () -> be.binary(BinaryOp.ADD, a, b, c), () -> CL.clEnqueueCopyBuffer(Devices.runtime(be).queue(),
                be.memory(a.buffer()), be.memory(c.buffer()), 0, 0, 4L * n, 0, null, null));
        System.out.printf("add n=%d: %.1f GB/s (%.1f per CPU second); clEnqueueCopyBuffer: %.1f GB/s (%.1f per CPU second)%n",
                n, 12.0 * n / s[0][0] / 1e9, 12.0 * n / s[0][1] / 1e9, 8.0 * n / s[1][0] / 1e9, 8.0 * n / s[1][1] / 1e9);
        for (View v : new View[] {a, b, c}) be.release(v.buffer());
    }

    private static double maxDifference(KernelBackend<cl_mem> be, View x, View y) {
        View d = be.allocateView(DType.FLOAT32, x.shape());
        be.binary(BinaryOp.SUB, x, y, d);
        float[] host = new float[(int) d.numel()];
        be.copyToHost(d.buffer(), 0, java.lang.foreign.MemorySegment.ofArray(host));
        be.release(d.buffer());
        float max = 0;
        for (float v : host) max = Math.max(max, Math.abs(v));
        return max;
    }

    /**
     * Median wall and process CPU seconds of one run of each of two workloads, run alternately so that both see
     * the same machine load. On a shared machine the CPU seconds (what the driver's threads consumed) vary less
     * than the wall seconds. The JVM reads process CPU time in 10 ms ticks, so each sample repeats a workload
     * until it lasts about 0.3 s.
     */
    static double[][] medians(KernelBackend<cl_mem> be, Runnable first, Runnable second) {
        Runnable[] work = {first, second};
        int[] repeats = new int[2];
        for (int w = 0; w < 2; w++) {
            long t0 = System.nanoTime();
            work[w].run();
            be.synchronize();
            repeats[w] = (int) Math.max(1, Math.ceil(0.3e9 / (System.nanoTime() - t0)));
        }
        double[][][] t = new double[2][2][RUNS];
        for (int rep = 0; rep < RUNS; rep++) {
            for (int w = 0; w < 2; w++) {
                long c0 = CPU.getProcessCpuTime(), t0 = System.nanoTime();
                for (int i = 0; i < repeats[w]; i++) work[w].run();
                be.synchronize();
                t[w][0][rep] = (System.nanoTime() - t0) / 1e9 / repeats[w];
                t[w][1][rep] = (CPU.getProcessCpuTime() - c0) / 1e9 / repeats[w];
            }
        }
        double[][] med = new double[2][2];
        for (int w = 0; w < 2; w++)
            for (int kind = 0; kind < 2; kind++) {
                Arrays.sort(t[w][kind]);
                med[w][kind] = t[w][kind][RUNS / 2];
            }
        return med;
    }
}
