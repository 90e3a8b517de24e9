package dev.kiln;

import dev.kiln.backend.Backend;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.MemoryStats;

import dev.kiln.random.Generator;

/** Process-wide settings: the default device, the global random generator, deterministic algorithms. */
public final class Kiln {
    private static volatile boolean deterministicAlgorithms;
    private static volatile MatmulPrecision float32MatmulPrecision = MatmulPrecision.HIGHEST;
    private static volatile PrintOptions printOptions = PrintOptions.DEFAULT;

    private Kiln() {}

    /**
     * Seeds the default Philox generator ({@link Generator#defaultGenerator()}); the same seed gives the same
     * numbers on every backend. PyTorch's {@code torch.manual_seed}.
     *
     * @param newSeed the seed
     */
    public static void manualSeed(long newSeed) { Generator.defaultGenerator().manualSeed(newSeed); }

    /** {@return the default generator's state as (seed, offset), for checkpoints} PyTorch's {@code torch.get_rng_state}. */
    public static long[] rngState() {
        Generator.State s = Generator.defaultGenerator().getState();
        return new long[] {s.seed(), s.offset()};
    }

    /**
     * Restores the default generator's state from {@link #rngState()} (PyTorch's {@code torch.set_rng_state}).
     *
     * @param state the (seed, offset) pair
     */
    public static void setRngState(long[] state) { Generator.defaultGenerator().setState(new Generator.State(state[0], state[1])); }

    /**
     * PyTorch's {@code torch.use_deterministic_algorithms}: when on, every op either gives bit-identical results
     * from run to run (for a fixed seed, device and thread count) or refuses with an error naming the op. Ops whose
     * results depend on the order in which device threads finish (float atomics: {@code scatterAdd},
     * {@code indexAdd} and the gradients built on them, on GPU drivers) check this switch; docs/ARCHITECTURE.md
     * lists them per backend. Off by default, as in PyTorch.
     *
     * @param on whether to require deterministic algorithms
     */
    public static void useDeterministicAlgorithms(boolean on) { deterministicAlgorithms = on; }

    /** {@return whether deterministic algorithms are required} PyTorch's {@code torch.are_deterministic_algorithms_enabled}. */
    public static boolean areDeterministicAlgorithmsEnabled() { return deterministicAlgorithms; }

    /**
     * Closes the constants Kiln keeps on devices between calls (causal attention biases, pooling divisors, adaptive
     * pooling matrices: at most a few dozen small tensors); they are built again on next use. For memory accounting:
     * after this, a device's live bytes are exactly the tensors the program holds.
     */
    public static void releaseConstants() { Constants.clear(); }

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

    /**
     * Lets float32 matrix products use TF32 ({@code "high"}) or bfloat16 ({@code "medium"}) tensor cores where a
     * backend has them, as {@code torch.set_float32_matmul_precision}; {@code "highest"} (the default) keeps them
     * exact float32. Process-wide.
     *
     * @param precision "highest", "high" or "medium"
     * @throws IllegalArgumentException for any other name
     */
    public static void setFloat32MatmulPrecision(String precision) { float32MatmulPrecision = MatmulPrecision.parse(precision); }

    /** {@return the float32 matmul precision now in force} PyTorch's {@code torch.get_float32_matmul_precision}. */
    public static MatmulPrecision float32MatmulPrecision() {
 return float32MatmulPrecision; }
}
