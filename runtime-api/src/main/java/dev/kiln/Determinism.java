package dev.kiln;

import dev.kiln.backend.Backend;

/** Enforces {@link Kiln#useDeterministicAlgorithms}: called before each backend accumulation that may use atomics. */
final class Determinism {
    private Determinism() {}

    /** Refuses an op the backend cannot run reproducibly while deterministic algorithms are required. */
    static void check(String op, Backend backend, String entryPoint) {
        if (Kiln.areDeterministicAlgorithmsEnabled() && !backend.isDeterministic(entryPoint))
            throw new IllegalStateException(op + ": " + backend.device() + " has no deterministic implementation of " + entryPoint
                    + " (it accumulates with atomics), and Kiln.useDeterministicAlgorithms(true) is on; run it on another device or turn the switch off");
    }
}
