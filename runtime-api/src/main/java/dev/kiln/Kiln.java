package dev.kiln;

import dev.kiln.backend.Backend;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.MemoryStats;

import java.util.concurrent.atomic.AtomicLong;

/** Process-wide settings: the default device and the global random generator. */
public final class Kiln {
    private static volatile long seed = 0x4B494C4EL;
    private static final AtomicLong OFFSET = new AtomicLong();
    private static volatile PrintOptions printOptions = PrintOptions.DEFAULT;

    private Kiln() {}

    /**
     * Seeds the global Philox generator; the same seed gives the same numbers on every backend.
     *
     * @param newSeed the seed
     */
    public static void manualSeed(long newSeed) {
        seed = newSeed;
        OFFSET.set(0);
    }

    /**
     * The generator's state as (seed, offset), for checkpoints.
     *
     * @return a new array {seed, offset}
     */
    public static long[] rngState() { return new long[] {seed, OFFSET.get()}; }

    /**
     * Restores the generator's state from a checkpoint.
     *
     * @param state what {@link #rngState} returned
     */
    public static void setRngState(long[] state) {
        seed = state[0];
        OFFSET.set(state[1]);
    }

    static long seed() { return seed; }

    /** Reserves {@code n} counters of the Philox stream and returns the first. */
    static long nextOffset(long n) { return OFFSET.getAndAdd(n); }

    /**
     * {@return the device tensors go to when none is named (choosing it, the first time, as the probe does)}
     */
    public static Device defaultDevice() { return defaultBackend().device(); }

    /**
     * Makes {@code device} the default for tensors created without one.
     *
     * @param device the device
     * @throws IllegalArgumentException if it is not available
     */
    public static void setDefaultDevice(Device device) { DeviceProbe.setDefault(device); }

    /**
     * {@return the memory the device's backend holds: live, cached and peak live bytes} As PyTorch's
     * {@code torch.cuda.memory_allocated}, {@code memory_reserved} and {@code max_memory_allocated} together.
     *
     * @param device the device, or null for the default device
     */
    public static MemoryStats memoryStats(Device device) { return backend(device).memoryStats(); }

    /**
     * Sets how tensors print from now on, in every thread (PyTorch's {@code torch.set_printoptions}).
     *
     * @param options the new options; {@link PrintOptions#DEFAULT} restores PyTorch's defaults
     */
    public static void setPrintOptions(PrintOptions options) { printOptions = java.util.Objects.requireNonNull(options, "options"); }

    /** {@return how tensors print now} */
    public static PrintOptions printOptions() { return printOptions; }

    static Backend defaultBackend() { return DeviceProbe.defaultBackend(); }

    static Backend backend(Device device) { return device == null ? defaultBackend() : DeviceProbe.backend(device); }
}
