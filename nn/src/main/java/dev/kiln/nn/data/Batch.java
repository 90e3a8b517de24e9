package dev.kiln.nn.data;

import dev.kiln.Tensor;

/**
 * A batch as tensors: inputs (B, ...) float32 and targets (B) int64 class indices or (B, ...) float32.
 *
 * @param inputs the inputs, batch first
 * @param targets the targets, batch first
 */
public record Batch(Tensor inputs, Tensor targets) implements AutoCloseable {
    /**
     * {@return the number of examples in the batch}
     */
    public int size() { return inputs.size(0); }

    @Override
    public void close() {
        inputs.close();
        targets.close();
    }
}
