package dev.kiln.bench;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.backend.Backend;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.View;
import dev.kiln.cpu.simd.WorkerPool;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The bandwidth ceiling for memory-bound kernels: a copy of a large buffer on the row's own device, sized by
 * {@link #moving} to move a given number of bytes (reads plus writes), so its time is what an ideal kernel with
 * that much traffic would take there. On the CPU backend it is {@code MemorySegment.copy} split over the same
 * threads Kiln's CPU kernels use; on any other device, the backend's own dense copy between two of its buffers
 * (on OpenCL, {@code clEnqueueCopyBuffer}), ending with {@code synchronize()} as Kiln's side does.
 */
final class CopyCeiling {
    private CopyCeiling() {}

    static Workload moving(String device, long bytes) {
        long half = Math.max(64, bytes / 2 / 64 * 64);
        Device d = Device.parse(device);
        return d.type().equals("cpu") ? host(half) : onDevice(DeviceProbe.backend(d), half);
    }

    private static Workload host(long half) {
        Arena arena = Arena.ofShared();
        MemorySegment src = arena.allocate(half, 64), dst = arena.allocate(half, 64);
        src.fill((byte) 1);
        dst.fill((byte) 0);
        WorkerPool pool = WorkerPool.shared();
        int parts = pool.parallelism();
        long chunk = (half / parts + 63) / 64 * 64;
        return workload(half, () -> pool.run(parts, p -> {
            long from = p * chunk, len = Math.min(chunk, half - from);
            if (len > 0) MemorySegment.copy(src, from, dst, from, len);
        }), arena::close);
    }

    private static Workload onDevice(Backend be, long half) {
        int n = (int) (half / Float.BYTES);
        View src = be.allocateView(DType.FLOAT32, n), dst = be.allocateView(DType.FLOAT32, n);
        be.fill(src, 1);
        be.synchronize();
        return workload(half, () -> {
            be.copy(src, dst);
            be.synchronize();
        }, () -> {
            be.release(src.buffer());
            be.release(dst.buffer());
        });
    }

    private static Workload workload(long half, Runnable copy, Runnable free) {
        return new Workload() {
            @Override public void run() { copy.run(); }

            @Override public double work() { return 2.0 * half; }

            @Override public String unit() { return "GB/s"; }

            @Override public void close() { free.run(); }
        };
    }
}
