package dev.kiln;

import dev.kiln.backend.Backend;
import dev.kiln.backend.DeviceProbe;

import dev.kiln.random.Generator;

/** Process-wide settings: the default device, the global random generator, deterministic algorithms. */
public final class Kiln {
    private static volatile boolean deterministicAlgorithms;
    private static volatile MatmulPrecision float32MatmulPrecision = MatmulPrecision.HIGHEST;

    private Kiln() {}

    /**
     * Seeds the default Philox generator ({@link Generator#defaultGenerator()}); the same seed gives the same
     * numbers on every backend.
     */
    public static void manualSeed(long newSeed) { Generator.defaultGenerator().manualSeed(newSeed); }

    /** The default generator's state as (seed, offset), for checkpoints. */
    public static long[] rngState() {
        Generator.State s = Generator.defaultGenerator().getState();
        return new long[] {s.seed(), s.offset()};
    }

    public static void setRngState(long[] state) { Generator.defaultGenerator().setState(new Generator.State(state[0], state[1])); }

    /**
     * PyTorch's {@code torch.use_deterministic_algorithms}: when on, every op either gives bit-identical results
     * from run to run (for a fixed seed, device and thread count) or refuses with an error naming the op. Ops whose
     * results depend on the order in which device threads finish (float atomics: {@code scatterAdd},
     * {@code indexAdd} and the gradients built on them, on GPU drivers) check this switch; docs/ARCHITECTURE.md
     * lists them per backend. Off by default, as in PyTorch.
     */
    public static void useDeterministicAlgorithms(boolean on) { deterministicAlgorithms = on; }

    public static boolean areDeterministicAlgorithmsEnabled() { return deterministicAlgorithms; }

    /**
     * Closes the constants Kiln keeps on devices between calls (causal attention biases, pooling divisors, adaptive
     * pooling matrices: at most a few dozen small tensors); they are built again on next use. For memory accounting:
     * after this, a device's live bytes are exactly the tensors the program holds.
     */
    public static void releaseConstants() { Constants.clear(); }

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
