package dev.kiln.nn.data;

import dev.kiln.Tensor;

import java.util.List;

/** One batch of a {@link TensorDataset}: the selected rows of each of its tensors, in the dataset's order. */
public record TensorBatch(List<Tensor> tensors) implements AutoCloseable {
    public TensorBatch {
        tensors = List.copyOf(tensors);
    }

    /** The batch of the dataset's tensor {@code i}. */
    public Tensor get(int i) { return tensors.get(i); }

    /** Examples in this batch. */
    public int size() { return tensors.getFirst().size(0); }

    @Override
    public void close() { tensors.forEach(Tensor::close); }
}
