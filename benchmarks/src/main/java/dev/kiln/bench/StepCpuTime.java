package dev.kiln.bench;

import dev.kiln.Device;
import dev.kiln.backend.Backend;
import dev.kiln.backend.DeviceProbe;

import java.lang.management.ManagementFactory;

/**
 * A training step's cost in CPU time rather than wall time, for comparing trees on a machine too busy for wall
 * times: per block of steps, the whole process's CPU time (a PoCL device's kernels run in its threads), the main
 * thread's (the host side: dispatch, enqueue) and the main thread's allocations, each per step. Hand-run with the
 * benchmarks' class path: {@code java ... dev.kiln.bench.StepCpuTime [device] [blocks] [steps per block] [lenet|lstm|gpt]};
 * the steps are the quick table's {@code step_*} rows.
 */
public final class StepCpuTime {
    private StepCpuTime() {}

    /**
     * Runs 30 warm-up steps, then prints one line per block.
     *
     * @param args device (default opencl:0), blocks (default 3), steps per block (default 40), step (default lenet)
     */
    public static void main(String[] args) {
        String device = args.length > 0 ? args[0] : "opencl:0";
        int blocks = args.length > 1 ? Integer.parseInt(args[1]) : 3, steps = args.length > 2 ? Integer.parseInt(args[2]) : 40;
        String step = args.length > 3 ? args[3] : "lenet";
        Backend be = DeviceProbe.backend(Device.parse(device));
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
        long main = Thread.currentThread().threadId();
        Rows row = Rows.forBackend(device, be, false).stream().filter(r -> r.id().startsWith(device + ".step_" + step)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("step must be lenet, lstm or gpt, not " + step));
        try (Workload w = row.ours().get()) {
            for (int i = 0; i < 30; i++) w.run();
            for (int b = 0; b < blocks; b++) {
                long process = os.getProcessCpuTime(), host = threads.getThreadCpuTime(main), bytes = threads.getThreadAllocatedBytes(main);
                for (int i = 0; i < steps; i++) w.run();
                System.out.printf("%s %s: process CPU %.2f ms, main thread CPU %.2f ms, main thread allocated %.0f KB per step (load %.1f)%n",
                        device, step, (os.getProcessCpuTime() - process) / 1e6 / steps, (threads.getThreadCpuTime(main) - host) / 1e6 / steps,
                        (threads.getThreadAllocatedBytes(main) - bytes) / 1024.0 / steps, os.getSystemLoadAverage());
            }
        }
    }
}
