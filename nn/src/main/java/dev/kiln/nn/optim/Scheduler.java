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
     * Restores the state {@link #stateJson} saved.
     *
     * @param json what {@link #stateJson} returned
     */
    void loadState(String json);
}
