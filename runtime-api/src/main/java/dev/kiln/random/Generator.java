package dev.kiln.random;

import java.util.concurrent.atomic.AtomicReference;

/**
 * A Philox random number generator as an object, like PyTorch's {@code torch.Generator}: a seed (the Philox key)
 * and an offset (the next unused counter). A random op of n elements reserves counters [offset, offset + n) and
 * element i takes counter offset + i, so its numbers are the same on every backend and in any thread schedule.
 *
 * <p>Pass one to the random ops, layers and loaders that take a {@code Generator} to give them a stream of their
 * own; the rest draw from {@link #defaultGenerator()}, which {@code Kiln.manualSeed} seeds. Every method is
 * thread-safe: seed and offset change together atomically, so concurrent draws get disjoint counters.
 */
public final class Generator {
    /** The default generator's seed before anything seeds it ("KILN"). */
    public static final long DEFAULT_SEED = 0x4B494C4EL;
    private static final Generator DEFAULT = new Generator(DEFAULT_SEED);

    /**
     * A generator's whole state, for checkpoints: restoring it replays the same numbers.
     *
     * @param seed the Philox key
     * @param offset the next unused counter
     */
    public record State(long seed, long offset) {}

    private final AtomicReference<State> state;

    /**
     * A generator starting at counter 0 (PyTorch's {@code torch.Generator().manual_seed(seed)}).
     *
     * @param seed the Philox key
     */
    public Generator(long seed) { state = new AtomicReference<>(new State(seed, 0)); }

    /** {@return the generator that ops use when they are given none} */
    public static Generator defaultGenerator() { return DEFAULT; }

    /**
     * Restarts the stream from counter 0 under {@code seed} (PyTorch's {@code manual_seed}).
     *
     * @param seed the new Philox key
     * @return this generator, as PyTorch's does
     */
    public Generator manualSeed(long seed) {
        state.set(new State(seed, 0));
        return this;
    }

    /** {@return the seed the stream is keyed with} PyTorch's {@code initial_seed}. */
    public long initialSeed() { return state.get().seed(); }

    /** {@return the next counter a draw will use} */
    public long offset() { return state.get().offset(); }

    /** {@return the whole state, for checkpoints} PyTorch's {@code get_state}. */
    public State getState() { return state.get(); }

    /**
     * Restores a state from {@link #getState()} (PyTorch's {@code set_state}).
     *
     * @param s the state
     * @throws IllegalArgumentException if its offset is negative
     */
    public void setState(State s) {
        if (s.offset() < 0) throw new IllegalArgumentException("Generator.setState: offset must be non-negative, got " + s.offset());
        state.set(s);
    }

    /**
     * Reserves {@code n} counters and returns the state to draw them with: its seed, and its offset as the first
     * counter. Atomic, so two threads never share counters.
     *
     * @param n the number of counters reserved
     * @return the state before the reservation: its offset is the first reserved counter
     * @throws IllegalArgumentException if n is negative
     */

    public State reserve(long n) {
        if (n < 0) throw new IllegalArgumentException("Generator.reserve: count must be non-negative, got " + n);
        return state.getAndUpdate(s -> new State(s.seed(), s.offset() + n));
    }

    @Override
    public String toString() {
        State s = state.get();
        return "Generator(seed=" + s.seed() + ", offset=" + s.offset() + ")";
    }
}
