package dev.kiln.nn.data;

import dev.kiln.Tensor;

import java.util.List;

/**
 * PyTorch's {@code TensorDataset}: several tensors that share their first dimension, example i being row i of
 * each (inputs, masks, lengths, targets, ...). The tensors stay where they are, on any device and of any dtype;
 * a {@link TensorDataLoader} batches them there with one {@code indexSelect} each, so nothing goes through the host.
 * The dataset holds the tensors but does not own them: close them when it is no longer needed.
 */
public final class TensorDataset {
    private final List<Tensor> tensors;

    /**
     * A dataset over the given tensors.
     *
     * @param tensors the tensors, at least one, all with the same first dimension and on the same device
     * @throws IllegalArgumentException if there is none, one is 0-dimensional, or they differ in examples or device
     */
    public TensorDataset(Tensor... tensors) { this(List.of(tensors)); }

    /**
     * A dataset over the given tensors.
     *
     * @param tensors the tensors, at least one, all with the same first dimension and on the same device
     * @throws IllegalArgumentException if there is none, one is 0-dimensional, or they differ in examples or device
     */
    public TensorDataset(List<Tensor> tensors) {
        if (tensors.isEmpty()) throw new IllegalArgumentException("TensorDataset: needs at least one tensor");
        Tensor first = tensors.getFirst();
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            if (t.dim() == 0)
                throw new IllegalArgumentException("TensorDataset: tensor " + i + " is 0-dimensional; every tensor needs a first (example) dimension");
            if (t.size(0) != first.size(0))
                throw new IllegalArgumentException("TensorDataset: tensor " + i + " of shape " + java.util.Arrays.toString(t.shape()) + " has " + t.size(0)
                        + " examples but tensor 0 of shape " + java.util.Arrays.toString(first.shape()) + " has " + first.size(0));
            if (!t.device().equals(first.device()))
                throw new IllegalArgumentException("TensorDataset: tensor " + i + " is on " + t.device() + " but tensor 0 is on " + first.device());
        }
        this.tensors = List.copyOf(tensors);
    }

    /** {@return the number of examples} */
    public int size() { return tensors.getFirst().size(0); }

    /** {@return the tensors, in the order given} */
    public List<Tensor> tensors() { return tensors; }

    /**
     * Example i: row i of every tensor (views, no copy).
     *
     * @param index the example's index
     * @return one view per tensor
     * @throws IndexOutOfBoundsException if index is not in [0, size())
     */

    public List<Tensor> get(int index) {
        if (index < 0 || index >= size()) throw new IndexOutOfBoundsException("TensorDataset: example " + index + " of " + size());
        return tensors.stream().map(t -> t.select(0, index)).toList();
    }
}
