package dev.kiln.nn.data;

import dev.kiln.DType;
import dev.kiln.Scope;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DataTest {

    /** Ten examples whose single input value and label are both the example's index. */
    private static ArrayDataset indexed(int n) {
        float[] x = new float[n];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            x[i] = i;
            y[i] = i;
        }
        return new ArrayDataset(x, new int[] {1}, y);
    }

    private static List<long[]> labels(Iterable<Batch> batches) {
        List<long[]> out = new ArrayList<>();
        for (Batch b : batches) {
            try (Scope s = Scope.open(); b) {
                assertEquals(DType.INT64, b.targets().dtype());
                assertEquals(DType.FLOAT32, b.inputs().dtype());
                assertEquals(b.size(), b.inputs().size(0));
                long[] y = b.targets().toLongArray();
                float[] x = b.inputs().toFloatArray();
                for (int i = 0; i < y.length; i++) assertEquals(y[i], (long) x[i], "inputs and targets stay paired");
                out.add(y);
            }
        }
        return out;
    }

    @Test
    void batchesInOrderWithShortLastBatchOrDropped() {
        DataLoader keep = new DataLoader(indexed(10), 4);
        assertEquals(3, keep.batchCount());
        List<long[]> b = labels(keep.epoch(0));
        assertArrayEquals(new long[] {0, 1, 2, 3}, b.get(0));
        assertArrayEquals(new long[] {8, 9}, b.get(2));
        DataLoader drop = new DataLoader(indexed(10), 4).dropLast(true);
        assertEquals(2, drop.batchCount());
        assertEquals(2, labels(drop.epoch(0)).size());
    }

    @Test
    void shufflingIsSeededPerEpochAndCoversEverything() {
        DataLoader a = new DataLoader(indexed(50), 7).shuffle(42);
        DataLoader b = new DataLoader(indexed(50), 7).shuffle(42).prefetch(0);
        int[] e0 = a.order(0), e1 = a.order(1);
        assertArrayEquals(e0, b.order(0), "same seed and epoch, same order");
        assertFalse(Arrays.equals(e0, e1), "epochs differ");
        assertNotEquals(Arrays.toString(e0), Arrays.toString(new DataLoader(indexed(50), 7).shuffle(43).order(0)));
        Set<Long> seen = new HashSet<>();
        List<long[]> withPrefetch = labels(a.epoch(3)), without = labels(b.epoch(3));
        for (int i = 0; i < withPrefetch.size(); i++) {
            assertArrayEquals(without.get(i), withPrefetch.get(i), "prefetch does not change the batches");
            for (long v : withPrefetch.get(i)) seen.add(v);
        }
        assertEquals(50, seen.size());
        List<long[]> resumed = labels(a.epoch(3, 4));
        assertArrayEquals(withPrefetch.get(4), resumed.get(0), "an epoch resumes at a given batch");
    }

    @Test
    void subsetsAndBadArguments() {
        Dataset d = indexed(10).subset(6, 10);
        assertEquals(4, d.size());
        assertEquals(7f, d.get(1).input()[0]);
        assertThrows(IndexOutOfBoundsException.class, () -> indexed(10).subset(5, 11));
        assertThrows(IllegalArgumentException.class, () -> new DataLoader(d, 0));
        assertThrows(IllegalArgumentException.class, () -> new ArrayDataset(new float[5], new int[] {2}, new int[3]));
    }

    private static byte[] idx(int magic, int[] dims, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length + data.length);
        b.putInt(magic);
        for (int d : dims) b.putInt(d);
        b.put(data);
        return b.array();
    }

    @Test
    void idxReaderReadsAndRejectsBadFiles() throws IOException {
        byte[] data = {1, 2, 3, 4, 5, (byte) 200};
        Idx.Array a = Idx.read(new ByteArrayInputStream(idx(0x00000803, new int[] {3, 1, 2}, data)), "t");
        assertArrayEquals(new int[] {3, 1, 2}, a.shape());
        assertEquals(2, a.exampleSize());
        assertEquals((byte) 200, a.data()[5]);
        IOException truncated = assertThrows(IOException.class,
                () -> Idx.read(new ByteArrayInputStream(Arrays.copyOf(idx(0x00000803, new int[] {3, 1, 2}, data), 20)), "t"));
        assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());
        assertThrows(IOException.class, () -> Idx.read(new ByteArrayInputStream(idx(0x12340803, new int[] {3, 1, 2}, data)), "t"));
        assertThrows(IOException.class, () -> Idx.read(new ByteArrayInputStream(idx(0x00000D01, new int[] {6}, data)), "t"));
    }

    @Test
    void bundledMnistSampleLoads() throws IOException {
        ArrayDataset mnist = Mnist.sample();
        assertEquals(10_000, mnist.size());
        int[] counts = new int[10];
        for (int i = 0; i < mnist.size(); i++) counts[mnist.label(i)]++;
        for (int c : counts) assertTrue(c > 800 && c < 1200, "roughly balanced: " + Arrays.toString(counts));
        Example e = mnist.get(0);
        assertArrayEquals(new int[] {1, 28, 28}, e.inputShape());
        float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
        for (float v : e.input()) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertEquals(-Mnist.MEAN / Mnist.STD, min, 1e-5, "background pixels are 0 before standardising");
        assertTrue(max > 2, "ink pixels near 1 before standardising");
    }

    @Test
    void randomShiftMovesImagesDeterministicallyPerEpoch() {
        float[] img = new float[9];
        img[4] = 1;
        ArrayDataset one = new ArrayDataset(img, new int[] {1, 3, 3}, new int[] {7});
        RandomShift shifted = new RandomShift(one, 1, 5);
        Set<Integer> positions = new HashSet<>();
        for (int epoch = 0; epoch < 200; epoch++) {
            Example e = shifted.get(0, epoch);
            assertArrayEquals(e.input(), shifted.get(0, epoch).input(), "same (index, epoch), same image");
            float sum = 0;
            int at = -1;
            for (int i = 0; i < 9; i++) {
                sum += e.input()[i];
                if (e.input()[i] == 1) at = i;
            }
            assertEquals(1f, sum, "a one-pixel move of a centred dot keeps it whole");
            assertEquals(7f, e.target()[0]);
            positions.add(at);
        }
        assertEquals(9, positions.size(), "every shift in [-1, 1]^2 occurs");
        assertArrayEquals(img, shifted.get(0).input(), "without an epoch, the original");
    }
}
