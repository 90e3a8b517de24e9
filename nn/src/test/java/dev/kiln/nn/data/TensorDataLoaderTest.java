package dev.kiln.nn.data;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.random.Generator;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A dataset of several tensors (inputs, masks, lengths, targets) batched together, shuffled by a Generator. */
class TensorDataLoaderTest {
    private static final int N = 10, L = 3;

    @Test
    void batchesCarryTheSameRowsOfEveryTensor() {
        try (Scope s = Scope.open()) {
            float[] x = new float[N * L];
            boolean[] mask = new boolean[N * L];
            long[] lengths = new long[N], labels = new long[N];
            for (int i = 0; i < N; i++) {
                lengths[i] = 1 + i % L;
                labels[i] = 100 + i;
                for (int t = 0; t < L; t++) {
                    x[i * L + t] = i * 10 + t;
                    mask[i * L + t] = t >= lengths[i];
                }
            }
            TensorDataset ds = new TensorDataset(Tensor.of(x, N, L), Tensor.of(mask, N, L), Tensor.of(lengths), Tensor.of(labels));
            assertEquals(N, ds.size());
            TensorDataLoader loader = new TensorDataLoader(ds, 4).shuffle(new Generator(3));
            assertEquals(3, loader.batchCount());
            List<Long> seen = new ArrayList<>();
            int batches = 0;
            for (TensorBatch b : loader.epoch(0)) {
                try (b) {
                    batches++;
                    assertEquals(4, b.tensors().size());
                    assertEquals(DType.BOOL, b.get(1).dtype());
                    assertEquals(DType.INT64, b.get(3).dtype());
                    float[] bx = b.get(0).toFloatArray();
                    boolean[] bm = b.get(1).toBooleanArray();
                    long[] bl = b.get(2).toLongArray(), by = b.get(3).toLongArray();
                    for (int r = 0; r < b.size(); r++) {
                        int i = (int) (by[r] - 100);
                        seen.add((long) i);
                        assertEquals(lengths[i], bl[r]);
                        for (int t = 0; t < L; t++) {
                            assertEquals(x[i * L + t], bx[r * L + t]);
                            assertEquals(mask[i * L + t], bm[r * L + t]);
                        }
                    }
                }
            }
            assertEquals(3, batches);
            assertEquals(N, seen.size(), "the last, short batch is kept");
            assertEquals(N, seen.stream().distinct().count());
            assertNotEquals(List.of(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L), seen, "shuffled");

            TensorDataLoader dropping = new TensorDataLoader(ds, 4).dropLast(true);
            assertEquals(2, dropping.batchCount());
            int[] order = new int[0];
            for (TensorBatch b : dropping.epoch(0)) {
                try (b) {
                    long[] by = b.get(3).toLongArray();
                    int[] more = Arrays.stream(by).mapToInt(v -> (int) v - 100).toArray();
                    int[] joined = Arrays.copyOf(order, order.length + more.length);
                    System.arraycopy(more, 0, joined, order.length, more.length);
                    order = joined;
                }
            }
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, order, "unshuffled, in order, short batch dropped");
        }
    }

    @Test
    void shuffleIsRandpermOfTheGeneratorPerEpochAndLeavesItAlone() {
        try (Scope s = Scope.open()) {
            TensorDataset ds = new TensorDataset(Tensor.arange(N));
            Generator g = new Generator(11);
            TensorDataLoader loader = new TensorDataLoader(ds, 5).shuffle(g);
            assertEquals(0, g.offset(), "the loader does not advance the generator");
            long[] perm = Tensor.randperm(N, new Generator(11), null).toLongArray();
            int[] order = loader.order(0);
            for (int i = 0; i < N; i++) assertEquals(perm[i], order[i], "epoch 0 is randperm(n) at the generator's state");
            assertNotEquals(Arrays.toString(order), Arrays.toString(loader.order(1)), "epochs differ");
            assertArrayEquals(loader.order(1), new TensorDataLoader(ds, 5).shuffle(new Generator(11)).order(1), "an epoch depends only on (state, epoch)");
            assertArrayEquals(loader.order(1), new DataLoader(new ArrayDataset(new float[N], new int[] {1}, new int[N]), 5).shuffle(11).order(1),
                    "the array loader shuffles the same way");
        }
    }

    @Test
    void datasetRejectsMismatchedTensors() {
        try (Scope s = Scope.open()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new TensorDataset(Tensor.zeros(4, 2), Tensor.zeros(5)));
            assertTrue(e.getMessage().contains("5 examples"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new TensorDataset(Tensor.scalar(1)));
            assertThrows(IllegalArgumentException.class, () -> new TensorDataLoader(new TensorDataset(Tensor.zeros(3)), 0));
        }
    }
}
