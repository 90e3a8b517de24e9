package dev.kiln.testkit.reliability;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Tensor;

import java.util.List;
import java.util.function.Supplier;

/**
 * The probes that once took the JVM down (issue 14, findings 1-3), run in a child JVM by {@link CrashIsolationTest}.
 * Each must end in Kiln's own exception (or succeed); the child prints "probes passed" and exits 0 only then.
 */
public final class CrashProbes {
    private CrashProbes() {}

    public static void main(String[] args) {
        Device device = Device.parse(args[0]);
        Kiln.setDefaultDevice(device);
        int max = Integer.MAX_VALUE;
        List<Supplier<Tensor>> refused = List.of(
                () -> Tensor.zeros(DType.FLOAT32, device, max, max),
                () -> Tensor.ones(DType.FLOAT32, device, 1, 1).expand(max, max).contiguous(),
                () -> Tensor.zeros(DType.FLOAT32, device, 65536, 65536, 65536, 65536),
                () -> Tensor.full(1, DType.BOOL, device, max, max),
                () -> Tensor.empty(DType.INT64, device, max, 1 << 28));
        int failures = 0;
        for (int i = 0; i < refused.size(); i++) {
            try (Tensor t = refused.get(i).get()) {
                System.out.println("probe " + i + ": made a tensor of " + t.numel() + " elements; expected a refusal");
                failures++;
            } catch (IllegalArgumentException | IllegalStateException e) {
                System.out.println("probe " + i + ": refused: " + e.getMessage());
            }
        }
        // Tensors dropped without close() under memory pressure: the allocator must reclaim them, not abort.
        for (int i = 0; i < 16; i++) {
            Tensor dropped = Tensor.ones(DType.FLOAT32, device, 16 << 20);
            if (dropped.numel() != 16 << 20) failures++;
        }
        System.out.println(failures == 0 ? "probes passed" : failures + " probes failed");
        System.exit(failures == 0 ? 0 : 1);
    }
}
