package dev.kiln;

import dev.kiln.backend.Backend;
import dev.kiln.backend.DeviceProbe;

import java.util.concurrent.atomic.AtomicLong;

/** Process-wide settings: the default device and the global random generator. */
public final class Kiln {
    private static volatile long seed = 0x4B494C4EL;
    private static final AtomicLong OFFSET = new AtomicLong();
    private static volatile MatmulPrecision float32MatmulPrecision = MatmulPrecision.HIGHEST;

    private Kiln() {}

    /** Seeds the global Philox generator; the same seed gives the same numbers on every backend. */
    public static void manualSeed(long newSeed) {
        seed = newSeed;
        OFFSET.set(0);
    }

    /** The generator's state as (seed, offset), for checkpoints. */
    public static long[] rngState() { return new long[] {seed, OFFSET.get()}; }

    public static void setRngState(long[] state) {
        seed = state[0];
        OFFSET.set(state[1]);
    }

    static long seed() { return seed; }

    /** Reserves {@code n} counters of the Philox stream and returns the first. */
    static long nextOffset(long n) { return OFFSET.getAndAdd(n); }

    public static Device defaultDevice() { return defaultBackend().device(); }

    public static void setDefaultDevice(Device device) { DeviceProbe.setDefault(device); }

    static Backend defaultBackend() { return DeviceProbe.defaultBackend(); }

    static Backend backend(Device device) { return device == null ? defaultBackend() : DeviceProbe.backend(device); }

    /**
     * Lets float32 matrix products use TF32 ({@code "high"}) or bfloat16 ({@code "medium"}) tensor cores where a
     * backend has them, as {@code torch.set_float32_matmul_precision}; {@code "highest"} (the default) keeps them
     * exact float32. Process-wide.
     */
    public static void setFloat32MatmulPrecision(String precision) { float32MatmulPrecision = MatmulPrecision.parse(precision); }

    public static MatmulPrecision float32MatmulPrecision() { return float32MatmulPrecision; }
}
