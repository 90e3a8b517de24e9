package dev.kiln.nn.data;

import dev.kiln.Tensor;

import java.util.List;

/**
 * One batch of a {@link TensorDataset}: the selected rows of each of its tensors, in the dataset's order.
 *
 * @param tensors one tensor per dataset tensor, the batch along the first dimension; the batch owns them
 */
public record TensorBatch(List<Tensor> tensors) implements AutoCloseable {
    /** Copies the list (not the tensors). */
    public TensorBatch {
        tensors = List.copyOf(tensors);
    }

    /**
     * The batch of one of the dataset's tensors.
     *
     * @param i the tensor's position in the dataset
     * @return the batch of the dataset's tensor {@code i}
     */
    public Tensor get(int i) { return tensors.get(i); }

    /** {@return the number of examples in this batch} */

    public int size() { return tensors.getFirst().size(0); }

    @Override
    public void close() { tensors.forEach(Tensor::close); }
}
