package dev.kiln.nn.data;

import dev.kiln.Tensor;
import dev.kiln.random.Generator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * Batches of a {@link TensorDataset}, like PyTorch's {@code DataLoader(TensorDataset(...), batch_size, shuffle,
 * generator, drop_last)}: each batch is a {@link TensorBatch} with one tensor per dataset tensor, gathered on the
 * dataset's device by {@code indexSelect} along the first dimension. Shuffling follows the same rule as
 * {@link DataLoader} (a permutation from the generator's state and the epoch), so runs resume exactly.
 *
 * <pre>{@code
 * var loader = new TensorDataLoader(new TensorDataset(tokens, mask, lengths, labels), 32)
 *         .shuffle(new Generator(7)).dropLast(true);
 * for (TensorBatch b : loader.epoch(epoch)) {
 *     try (b) { Tensor logits = model.forward(b.get(0), b.get(1)); ... b.get(3) ... }
 * }
 * }</pre>
 */
public final class TensorDataLoader {
    private final TensorDataset dataset;
    private final BatchPlan plan;

    /**
     * A loader over {@code dataset} in its own order, keeping a last partial batch.
     *
     * @param dataset the examples
     * @param batchSize examples per batch, positive
     * @throws IllegalArgumentException if batchSize is not positive
     */
    public TensorDataLoader(TensorDataset dataset, int batchSize) {
        this.plan = new BatchPlan("TensorDataLoader", batchSize);
        this.dataset = dataset;
    }

    /**
     * Shuffles each epoch with the permutation drawn from {@code generator}'s current state and the epoch; the
     * generator is not advanced.
     *
     * @param generator the generator whose state keys the shuffle
     * @return this loader, for chaining
     */
    public TensorDataLoader shuffle(Generator generator) {
        plan.shuffle(generator);
        return this;
    }

    /**
     * Whether each epoch drops its last batch when it is smaller than the others.
     *
     * @param dropLast whether to drop a last batch smaller than the batch size
     * @return this loader, for chaining
     */
    public TensorDataLoader dropLast(boolean dropLast) {
        plan.dropLast(dropLast);
        return this;
    }

    /** {@return the number of examples per batch} */
    public int batchSize() { return plan.batchSize(); }

    /** {@return the number of batches per epoch} */
    public int batchCount() { return plan.batchCount(dataset.size()); }

    /**
     * The order in which an epoch visits the examples.
     *
     * @param epoch the epoch, from 0
     * @return the example indices in visiting order
     */
    public int[] order(int epoch) { return plan.order(epoch, dataset.size()); }

    /**
     * The batches of {@code epoch}, from the first.
     *
     * @param epoch the epoch, from 0 (it picks the shuffle)
     * @return the batches; close each one
     */
    public Iterable<TensorBatch> epoch(int epoch) { return epoch(epoch, 0); }

    /**
     * The batches of {@code epoch} from batch {@code firstBatch} on (to resume mid-epoch).
     *
     * @param epoch the epoch, from 0 (it picks the shuffle)
     * @param firstBatch the index of the first batch returned
     * @return the batches; close each one
     */

    public Iterable<TensorBatch> epoch(int epoch, int firstBatch) {
        int[] order = order(epoch);
        int count = batchCount();
        return () -> new Iterator<>() {
            private int next = firstBatch;

            @Override
            public boolean hasNext() { return next < count; }

            @Override
            public TensorBatch next() {
                if (!hasNext()) throw new NoSuchElementException("TensorDataLoader: epoch has " + count + " batches");
                int from = next++ * plan.batchSize();
                return batch(Arrays.copyOfRange(order, from, Math.min(order.length, from + plan.batchSize())));
            }
        };
    }

    private TensorBatch batch(int[] rows) {
        long[] idx = new long[rows.length];
        for (int i = 0; i < rows.length; i++) idx[i] = rows[i];
        List<Tensor> out = new ArrayList<>(dataset.tensors().size());
        try (Tensor host = Tensor.of(idx); Tensor index = host.to(dataset.tensors().getFirst().device())) {
            for (Tensor t : dataset.tensors()) out.add(t.indexSelect(0, index));
        }
        return new TensorBatch(out);
    }
}
