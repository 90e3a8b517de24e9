package dev.kiln.nn.optim;

/** Something that adjusts an optimizer's learning rates as training goes, with state for checkpoints. */
public interface Scheduler {

    /** Advances one step (or epoch) without a metric. */
    void step();

    String stateJson();

    void loadState(String json);
}
