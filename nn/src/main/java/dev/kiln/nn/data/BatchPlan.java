package dev.kiln.nn.data;

import dev.kiln.random.Generator;
import dev.kiln.random.Philox;

/**
 * What both loaders share: the batch size, drop-last, and the order in which an epoch visits n examples:
 * 0..n-1, or with shuffling the permutation {@code Tensor.randperm(n)} would draw at counter
 * {@code offset + epoch * n} under the generator's seed, where (seed, offset) is the generator's state when
 * shuffling was asked for. The order depends only on that state and the epoch, so a resumed run that builds its
 * loader from the same seeded generator sees the same order at any epoch without replaying the ones before. The
 * generator itself is not advanced.
 */
final class BatchPlan {
    private final int batchSize;
    private Generator.State shuffleKey;
    private boolean dropLast;

    BatchPlan(String loader, int batchSize) {
        if (batchSize <= 0) throw new IllegalArgumentException(loader + ": batchSize must be positive, got " + batchSize);
        this.batchSize = batchSize;
    }

    void shuffle(Generator generator) { shuffleKey = generator.getState(); }

    void dropLast(boolean drop) { dropLast = drop; }

    int batchSize() { return batchSize; }

    int batchCount(int n) { return dropLast ? n / batchSize : (n + batchSize - 1) / batchSize; }

    int[] order(int epoch, int n) {
        if (shuffleKey == null) {
            int[] idx = new int[n];
            for (int i = 0; i < n; i++) idx[i] = i;
            return idx;
        }
        return Philox.permutation(shuffleKey.seed(), shuffleKey.offset() + (long) epoch * n, n);
    }
}
