package dev.kiln.nn.data;

/**
 * Indexed examples held on the host. A {@link DataLoader} reads them on a background thread and turns each
 * batch into tensors on the training thread, so a dataset never touches a device.
 */
public interface Dataset {

    /**
     * {@return the number of examples}
     */
    int size();

    /**
     * The example at {@code index}.
     *
     * @param index the example's index, from 0
     * @return the example
     */
    Example get(int index);

    /**
     * The example as seen in {@code epoch}; the same as {@link #get(int)} unless the dataset augments its
     * examples, in which case the result depends only on (index, epoch) so runs are reproducible and resumable.
     *
     * @param index the example's index, from 0
     * @param epoch the epoch, from 0
     * @return the example
     */
    default Example get(int index, int epoch) { return get(index); }

    /**
     * Examples {@code from} (inclusive) to {@code to} (exclusive) of this dataset, without copying.
     *
     * @param from the first index
     * @param to one past the last index
     * @return a view of those examples
     * @throws IndexOutOfBoundsException if the range is not within the dataset
     */
    default Dataset subset(int from, int to) {
        if (from < 0 || to > size() || from > to)
            throw new IndexOutOfBoundsException("subset [" + from + ", " + to + ") of a dataset of " + size());
        Dataset outer = this;
        return new Dataset() {
            @Override
            public int size() { return to - from; }

            @Override
            public Example get(int index) { return get(index, 0); }

            @Override
            public Example get(int index, int epoch) {
                if (index < 0 || index >= size()) throw new IndexOutOfBoundsException("example " + index + " of " + size());
                return outer.get(from + index, epoch);
            }
        };
    }
}
