package dev.kiln.bench;

import dev.kiln.cpu.simd.WorkerPool;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The quick table's CPU rows timed by the calling thread's CPU time instead of the wall clock, ours and the
 * reference alternating run by run: for a machine shared with other work, where wall-clock medians measure the
 * neighbours. Meaningful only when all the work runs on the calling thread, so it refuses to run unless Kiln's pool
 * has one thread ({@code -Dkiln.cpu.threads=1}, which also gives libtorch one thread) and OpenBLAS has one
 * ({@code OPENBLAS_NUM_THREADS=1}). Figures are single-core; the table's wall-clock rows are the ones with both
 * cores.
 *
 * <p>{@code CpuTimeBench --filter S[,S...] [--runs N]}; prints one {@code cputime} line per row.
 */
public final class CpuTimeBench {
    private static final long WARMUP_NANOS = 15_000_000_000L;
    private CpuTimeBench() {}

    public static void main(String[] args) {
        List<String> a = Arrays.asList(args);
        int f = a.indexOf("--filter"), r = a.indexOf("--runs");
        if (f < 0 || f + 1 >= args.length) throw new IllegalArgumentException("usage: CpuTimeBench --filter S[,S...] [--runs N]");
        String[] filter = args[f + 1].split(",");
        int runs = r >= 0 && r + 1 < args.length ? Integer.parseInt(args[r + 1]) : 15;
        if (WorkerPool.shared().parallelism() != 1 || !"1".equals(System.getenv("OPENBLAS_NUM_THREADS")))
            throw new IllegalStateException("CpuTimeBench times the calling thread only: run with -Dkiln.cpu.threads=1 and OPENBLAS_NUM_THREADS=1");
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        Rows.Named cpu = Rows.backends().getFirst();
        for (Rows row : Rows.forBackend(cpu.device(), cpu.backend(), true)) {
            if (Arrays.stream(filter).noneMatch(row.id()::contains) || row.ref() == null) continue;
            try (Workload ours = row.ours().get(); Workload ref = row.ref().get()) {
                // Warm-up: at least three rounds and WARMUP_NANOS of wall time, for the JIT's compiler threads to
                // finish the vector kernels on a busy machine (interpreted, they box every vector).
                long start = System.nanoTime();
                for (int i = 0; i < 3 || System.nanoTime() - start < WARMUP_NANOS; i++) {
                    ours.run();
                    ref.run();
                }
                double[] oursMs = new double[runs], refMs = new double[runs];
                for (int i = 0; i < runs; i++) {
                    oursMs[i] = cpuMs(threads, ours);
                    refMs[i] = cpuMs(threads, ref);
                }
                double om = median(oursMs), rm = median(refMs);
                System.out.printf(Locale.ROOT, "cputime name=%s ours_ms=%.3f ref=%s ref_ms=%.3f speedup=%.3f runs=%d%n",
                        row.id(), om, row.refName(), rm, rm / om, runs);
            }
        }
    }

    private static double cpuMs(ThreadMXBean threads, Workload w) {
        long t0 = threads.getCurrentThreadCpuTime();
        w.run();
        return (threads.getCurrentThreadCpuTime() - t0) / 1e6;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
