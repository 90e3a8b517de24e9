package dev.kiln.nn.optim;

/** Something that adjusts an optimizer's learning rates as training goes, with state for checkpoints. */
public interface Scheduler {

    /** Advances one step (or epoch) without a metric. */
    void step();

    /**
     * {@return the scheduler's state as JSON, for checkpoints}
     */
    String stateJson();

    /**
     * Restores what {@link #stateJson} saved; invalid state changes nothing.
     *
     * @param json the saved state
     * @throws IllegalArgumentException if the state does not fit this scheduler
     */
    default void loadState(String json) { prepareLoadState(json).run(); }

    /**
     * Validates saved state and returns the action that applies it: nothing changes until that runs.
     *
     * @param json the saved state
     * @return the action that applies it
     * @throws IllegalArgumentException if the state does not fit this scheduler
     */

    Runnable prepareLoadState(String json);
}
