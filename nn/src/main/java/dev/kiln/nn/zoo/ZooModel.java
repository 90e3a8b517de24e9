package dev.kiln.nn.zoo;

import java.io.IOException;
import java.nio.file.Path;

/**
 * One model of the zoo: a classic architecture with its data, its training recipe and the published figure it
 * is trained to reach. {@link #train} runs the recipe (the full one, or a seconds-long one with
 * {@link ZooOptions#quick()} that only shows the loss falling) and leaves {@code checkpoint.safetensors} in the
 * output folder; {@link #evaluate} loads such a checkpoint back and measures the same metric on held-out data.
 * Tensors are made on Kiln's default device, so a model trains wherever {@code Kiln.setDefaultDevice} points.
 */
public abstract class ZooModel {
    /** The file {@link #train} writes in the output folder. */
    public static final String CHECKPOINT = "checkpoint.safetensors";

    private final String name;
    private final String shows;
    private final String data;
    private final String target;

    protected ZooModel(String name, String shows, String data, String target) {
        this.name = name;
        this.shows = shows;
        this.data = data;
        this.target = target;
    }

    /** {@return the registry name, as {@code kiln train <name>} takes it} */
    public final String name() { return name; }

    /** {@return what the model demonstrates} */
    public final String shows() { return shows; }

    /** {@return the data it trains on} */
    public final String data() { return data; }

    /** {@return the full-mode target, in words} */
    public final String target() { return target; }

    /**
     * Trains, writes the checkpoint to {@code options.out()} and measures the held-out metric.
     *
     * @param options the mode, seed, output folder and log
     * @return the held-out metric and the training losses
     * @throws IOException if the data cannot be read or the checkpoint written
     */
    public abstract ZooResult train(ZooOptions options) throws IOException;

    /**
     * The held-out metric of a checkpoint written by {@link #train}.
     *
     * @param checkpoint the checkpoint file
     * @param options the mode (quick: the quick run's smaller held-out set), seed and log
     * @return the held-out metric
     * @throws IOException if the data or the checkpoint cannot be read
     */

    public abstract ZooResult evaluate(Path checkpoint, ZooOptions options) throws IOException;

    @Override
    public String toString() { return name; }
}
