package dev.kiln.nn.data;

import dev.kiln.random.Generator;
import dev.kiln.random.Philox;

/**
 * The order in which a loader visits n examples in each epoch: 0..n-1, or with shuffling the permutation
 * {@code Tensor.randperm(n)} would draw at counter {@code offset + epoch * n} under the generator's seed, where
 * (seed, offset) is the generator's state when shuffling was asked for. It depends only on that state and the
 * epoch, so a resumed run that builds its loader from the same seeded generator sees the same order, at any
 * epoch, without replaying the ones before. The generator itself is not advanced.
 */
record ShuffleOrder(Generator.State key) {
    static final ShuffleOrder SEQUENTIAL = new ShuffleOrder(null);

    static ShuffleOrder of(Generator generator) { return new ShuffleOrder(generator.getState()); }

    int[] order(int epoch, int n) {
        if (key == null) {
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) idx[i] = i;
            return idx;
        }
        return Philox.permutation(key.seed(), key.offset() + (long) epoch * n, n);
    }
}
