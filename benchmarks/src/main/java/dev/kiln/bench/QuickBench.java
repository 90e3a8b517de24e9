package dev.kiln.bench;

import dev.kiln.cpu.simd.WorkerPool;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The quick comparison behind {@code kiln bench --quick}: each row is timed for Kiln and for its reference in
 * the same process (all of Kiln's rows first, then the references) and reported as medians. Prints a table, then one machine-readable
 * line per row: {@code bench name=<id> ours_ms=<x> ref=<reference> ref_ms=<y> speedup=<y/x>}.
 *
 * <p>Arguments: {@code --full} for the larger row set, {@code --filter a,b} to run the rows whose names contain a or b.
 * It is not JMH: a warm-up that lasts until the JIT has settled, then a median over a bounded number of runs, so it
 * finishes in minutes.
 */
public final class QuickBench {
    private QuickBench() {}

    private static final long WARMUP_NANOS = 500_000_000L;
    private static final long WARMUP_CAP_NANOS = 12_000_000_000L;
    private static final long JIT_WARMUP_NANOS = 8_000_000_000L;
    /** How long the JIT must have compiled nothing before a row's warm-up may end. */
    private static final long JIT_QUIET_NANOS = 1_000_000_000L;
    private static final long MEASURE_NANOS = 1_200_000_000L;
    private static final int MIN_RUNS = 5, MAX_RUNS = 40;

    public static void main(String[] args) {
        boolean quick = !Arrays.asList(args).contains("--full");
        int f = Arrays.asList(args).indexOf("--filter");
        String filter = f >= 0 && f + 1 < args.length ? args[f + 1] : "";
        System.out.println("# JDK " + Runtime.version() + ", " + System.getProperty("os.arch") + ", "
                + Runtime.getRuntime().availableProcessors() + " processors, Kiln CPU pool " + WorkerPool.shared().parallelism() + " threads");
        System.out.println("# " + OpenBlasReference.describe());
        System.out.println("# " + PyTorchReference.find().map(PyTorchReference::describe)
                .orElse("PyTorch: not on the class path (build with KILN_BENCH_PROFILES=pytorch), its rows print ref=none"));
        // Every row of ours first, then every reference: libtorch's OpenMP workers (and OpenBLAS's) keep spinning
        // after their own row ends, for good under OMP_WAIT_POLICY=ACTIVE, and a row of ours timed after them shared
        // the two cores with them (the LSTM step 181 ms right after PyTorch's LeNet step, 129 ms in a run without).
        List<Rows> timed = new ArrayList<>();
        List<Result> ours = new ArrayList<>();
        for (Rows.Named b : Rows.backends()) {
            System.out.println("# " + b.device() + ": " + b.backend().description());
            List<Rows> selected = Rows.forBackend(b.device(), b.backend(), quick).stream()
                    .filter(row -> Arrays.stream(filter.split(",")).anyMatch(row.id()::contains)).toList();
            if (selected.isEmpty()) continue;
            warmJit(b);
            for (Rows row : selected) {
                timed.add(row);
                ours.add(time(row.ours().get()));
            }
        }
        List<String> lines = new ArrayList<>();
        System.out.printf(Locale.ROOT, "%-40s %10s %14s %9s %10s %14s %8s%n", "row", "ours ms", "ours rate", "ref", "ref ms", "ref rate", "speedup");
        for (int i = 0; i < timed.size(); i++) {
            Rows row = timed.get(i);
            Result our = ours.get(i), ref = row.ref() == null ? null : time(row.ref().get());
            double speedup = ref == null ? Double.NaN : ref.ms / our.ms;
            System.out.printf(Locale.ROOT, "%-40s %10.3f %14s %9s %10s %14s %8s%n", row.id(), our.ms, our.rate(),
                    row.refName(), ref == null ? "-" : fmt(ref.ms), ref == null ? "-" : ref.rate(),
                    ref == null ? "-" : String.format(Locale.ROOT, "%.2f", speedup));
            lines.add(String.format(Locale.ROOT, "bench name=%s ours_ms=%.4f ref=%s ref_ms=%s speedup=%s", row.id(), our.ms,
                    row.refName(), ref == null ? "-" : String.format(Locale.ROOT, "%.4f", ref.ms),
                    ref == null ? "-" : String.format(Locale.ROOT, "%.3f", speedup)));
        }
        if (lines.isEmpty() && !filter.isEmpty())
            throw new IllegalArgumentException("--filter '" + filter + "' matches no benchmark row");
        lines.forEach(System.out::println);
    }

    /**
     * Runs a small GEMM, the streaming kernels and LeNet's convolutions (the CPU's direct convolution kernels) for
     * a few seconds first. The vector kernels are slow until C2 has compiled them (the interpreter and C1 box every
     * vector: a direct convolution then runs 100-1000x slower, steadily enough to pass a row's own warm-up), and on
     * a busy machine that takes seconds.
     */
    private static void warmJit(Rows.Named b) {
        long end = System.nanoTime() + JIT_WARMUP_NANOS;
        List<Rows> rows = Rows.forBackend(b.device(), b.backend(), true).stream()
                .filter(r -> r.id().endsWith("sgemm_256") || r.id().endsWith("_1M") || r.id().contains("_rows_")
                        || r.id().contains("conv_lenet")).toList();
        while (System.nanoTime() < end) {
            for (Rows r : rows) {
                try (Workload w = r.ours().get()) {
                    for (int i = 0; i < 5; i++) w.run();
                }
            }
        }
    }

    record Result(double ms, double work, String unit) {
        String rate() {
            if (work <= 0) return "-";
            return String.format(Locale.ROOT, "%.1f %s", work / (ms * 1e-3) / 1e9, unit);
        }
    }

    /** Warm-up, then the median of runs until the time budget or the run cap is reached. */
    static Result time(Workload w) {
        try (w) {
            // Warm up for a minimum time, then on while the JIT is still compiling (a whole training step reaches
            // C2's final code only after seconds: measured right after 0.5 s, LeNet's step took 11-12 ms against
            // 6.7 ms once compilation had settled) or a run is not within 25% of the best so far, up to a cap.
            var jit = ManagementFactory.getCompilationMXBean();
            long start = System.nanoTime(), compiled = jit.getTotalCompilationTime(), quietSince = start;
            double best = Double.MAX_VALUE, last = Double.MAX_VALUE;
            int warm = 0;
            while (warm < 2 || System.nanoTime() - start < WARMUP_NANOS
                    || ((last > 1.25 * best || System.nanoTime() - quietSince < JIT_QUIET_NANOS) && System.nanoTime() - start < WARMUP_CAP_NANOS)) {
                long t0 = System.nanoTime();
                w.run();
                last = System.nanoTime() - t0;
                best = Math.min(best, last);
                warm++;
                long c = jit.getTotalCompilationTime();
                if (c != compiled) {
                    compiled = c;
                    quietSince = System.nanoTime();
                }
            }
            List<Double> ms = new ArrayList<>();
            start = System.nanoTime();
            while (ms.size() < MIN_RUNS || (ms.size() < MAX_RUNS && System.nanoTime() - start < MEASURE_NANOS)) {
                long t0 = System.nanoTime();
                w.run();
                ms.add((System.nanoTime() - t0) / 1e6);
            }
            ms.sort(null);
            int n = ms.size();
            double median = n % 2 == 1 ? ms.get(n / 2) : (ms.get(n / 2 - 1) + ms.get(n / 2)) / 2;
            return new Result(median, w.work(), w.unit());
        }
    }

    private static String fmt(double ms) { return String.format(Locale.ROOT, "%.3f", ms); }
}
