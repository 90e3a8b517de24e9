package dev.kiln.nn.io;

import dev.kiln.Kiln;
import dev.kiln.Tensor;
import dev.kiln.nn.Module;
import dev.kiln.nn.optim.Optimizer;
import dev.kiln.nn.optim.Scheduler;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Training checkpoints as one safetensors file: the model's state dict under its own names (so any safetensors
 * reader can load the weights), optimizer state tensors under {@code optimizer/<param>.<key>}, and in the
 * metadata the optimizer's and scheduler's settings and counters (JSON), the global random generator's state,
 * and whatever the caller adds (epoch, batch, ...). Everything needed for a run to continue bit-identically.
 */
public final class Checkpoint {
    /**
     * The value of the {@code format} metadata entry that marks a Kiln checkpoint.
     */
    public static final String FORMAT = "kiln-checkpoint-1";
    private static final String OPTIMIZER_PREFIX = "optimizer/";
    /** Metadata keys the checkpoint itself writes; a caller's extras may not replace them. */
    private static final java.util.Set<String> RESERVED = java.util.Set.of("format", "optimizer", "scheduler", "rng");

    private Checkpoint() {}

    /**
     * Saves atomically; {@code optimizer}, {@code scheduler} and {@code extra} may be null.
     *
     * @param file the file to write (replaced atomically)
     * @param model the model, whose state dict is saved under its own names
     * @param optimizer the optimizer whose state is saved, or null
     * @param scheduler the learning-rate scheduler whose state is saved, or null
     * @param extra metadata of the caller's own (epoch, batch, ...), or null
     * @throws IOException if the file cannot be written
     */
    public static void save(Path file, Module model, Optimizer optimizer, Scheduler scheduler, Map<String, String> extra) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>(model.stateDict());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        if (extra != null) {
            for (String key : extra.keySet())
                if (RESERVED.contains(key))
                    throw new IllegalArgumentException("Checkpoint.save: extra metadata key '" + key + "' is reserved (" + RESERVED
                            + "); it would make the file unloadable");
            meta.putAll(extra);
        }
        if (optimizer != null) {
            optimizer.stateTensors().forEach((k, t) -> tensors.put(OPTIMIZER_PREFIX + k, t));
            meta.put("optimizer", optimizer.stateJson());
        }
        if (scheduler != null) meta.put("scheduler", scheduler.stateJson());
        long[] rng = Kiln.rngState();
        meta.put("rng", Json.write(List.of(rng[0], rng[1])));
        Safetensors.write(file, tensors, meta);
    }

    /**
     * Restores the model (strictly: names and shapes must match), the optimizer and scheduler when given and
     * saved, and the random generator; returns the metadata, including the caller's extras. Atomic: everything is
     * read and validated first, so a file that cannot be loaded leaves the model, optimizer, scheduler and random
     * generator as they were, and the failure is an IOException that says why.
     *
     * @param file the checkpoint
     * @param model the model restored
     * @param optimizer the optimizer restored, or null
     * @param scheduler the scheduler restored, or null
     * @return the metadata saved with the checkpoint
     * @throws IOException if the file cannot be read or does not fit the model, optimizer or scheduler
     */

    public static Map<String, String> load(Path file, Module model, Optimizer optimizer, Scheduler scheduler) throws IOException {
        try (Safetensors.Contents c = Safetensors.read(file)) {
            Map<String, String> meta = c.metadata();
            if (!FORMAT.equals(meta.get("format")))
                throw new IOException(file + ": not a Kiln checkpoint (metadata format is " + meta.get("format") + ", expected " + FORMAT + ")");
            Map<String, Tensor> modelState = new LinkedHashMap<>();
            Map<String, Tensor> optimizerState = new LinkedHashMap<>();
            c.tensors().forEach((k, t) -> {
                if (k.startsWith(OPTIMIZER_PREFIX)) optimizerState.put(k.substring(OPTIMIZER_PREFIX.length()), t);
                else modelState.put(k, t);
            });
            List<Runnable> apply = new ArrayList<>();
            try {
                if (optimizer != null) apply.add(optimizer.prepareLoadState(required(meta, "optimizer", file), optimizerState));
                if (scheduler != null) apply.add(scheduler.prepareLoadState(required(meta, "scheduler", file)));
                String rng = meta.get("rng");
                if (rng != null) {
                    if (!(Json.parse(rng) instanceof List<?> r) || r.size() != 2)
                        throw new IllegalArgumentException("rng must be a list of two integers, got " + rng);
                    long[] state = {Json.asLong(r.get(0)), Json.asLong(r.get(1))};
                    apply.add(() -> Kiln.setRngState(state));
                }
                // Checks every name and shape before copying anything; the prepared actions only assign.
                model.loadStateDict(modelState, true);
            } catch (RuntimeException invalid) {
                throw new IOException(file + ": cannot load checkpoint: " + invalid.getMessage(), invalid);
            }
            apply.forEach(Runnable::run);
            return meta;
        }
    }

    private static String required(Map<String, String> meta, String key, Path file) throws IOException {
        String json = meta.get(key);
        if (json == null) throw new IOException(file + ": checkpoint has no " + key + " state");
        return json;
    }
}
