package dev.kiln.bench;

import dev.kiln.cpu.simd.WorkerPool;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The bandwidth ceiling for memory-bound kernels: {@code MemorySegment.copy} of a large buffer, split over the
 * same threads Kiln's CPU kernels use. {@link #moving(long)} sizes the copy to move a given number of bytes
 * (reads plus writes), so its time is what an ideal kernel with that much traffic would take.
 */
final class CopyCeiling {
    private CopyCeiling() {}

    static Workload moving(long bytes) {
        long half = Math.max(64, bytes / 2 / 64 * 64);
        Arena arena = Arena.ofShared();
        MemorySegment src = arena.allocate(half, 64), dst = arena.allocate(half, 64);
        src.fill((byte) 1);
        dst.fill((byte) 0);
        WorkerPool pool = WorkerPool.shared();
        int parts = pool.parallelism();
        long chunk = (half / parts + 63) / 64 * 64;
        return new Workload() {
            @Override
            public void run() {
                pool.run(parts, p -> {
                    long from = p * chunk, len = Math.min(chunk, half - from);
                    if (len > 0) MemorySegment.copy(src, from, dst, from, len);
                });
            }

            @Override public double work() { return 2.0 * half; }

            @Override public String unit() { return "GB/s"; }

            @Override public void close() { arena.close(); }
        };
    }
}
