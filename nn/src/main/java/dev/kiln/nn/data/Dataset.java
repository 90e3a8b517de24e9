package dev.kiln.nn.data;

/**
 * Indexed examples held on the host. A {@link DataLoader} reads them on a background thread and turns each
 * batch into tensors on the training thread, so a dataset never touches a device.
 */
public interface Dataset {

    int size();

    Example get(int index);

    /**
     * The example as seen in {@code epoch}; the same as {@link #get(int)} unless the dataset augments its
     * examples, in which case the result depends only on (index, epoch) so runs are reproducible and resumable.
     */
    default Example get(int index, int epoch) { return get(index); }

    /** Examples {@code from} (inclusive) to {@code to} (exclusive) of this dataset, without copying. */
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
