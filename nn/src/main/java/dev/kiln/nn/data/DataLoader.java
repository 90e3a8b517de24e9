package dev.kiln.nn.data;

import dev.kiln.Device;
import dev.kiln.Tensor;
import dev.kiln.random.Generator;

import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Batches of a {@link Dataset}: optional shuffling that depends only on (seed, epoch), so a resumed run sees the
 * same order; optional dropping of a short last batch; and background prefetch. A daemon thread gathers the
 * next batches into host arrays while the training thread works; tensors are made on the training thread (inside
 * its scope, on its device), so the dataset and the prefetch thread never touch a device.
 * An epoch abandoned half way leaves its prefetch thread parked on a full queue; it is a daemon and holds only
 * host arrays, so it costs memory, not correctness. Use {@code prefetch(0)} where epochs are often cut short.
 *
 * <pre>{@code
 * var loader = new DataLoader(train, 64).shuffle(seed).dropLast(true);
 * for (int epoch = 0; epoch < epochs; epoch++)
 *     for (Batch b : loader.epoch(epoch)) { ... }
 * }</pre>
 */
public final class DataLoader {
    private final Dataset dataset;
    private final BatchPlan plan;
    private int prefetch = 2;
    private Device device;

    /**
     * A loader over {@code dataset} in its own order, keeping a last partial batch, preparing two batches ahead.
     *
     * @param dataset the examples
     * @param batchSize examples per batch, positive
     * @throws IllegalArgumentException if batchSize is not positive
     */
    public DataLoader(Dataset dataset, int batchSize) {
        this.plan = new BatchPlan("DataLoader", batchSize);
        this.dataset = dataset;
    }

    /**
     * Shuffles each epoch with a permutation drawn from (seed, epoch): {@code shuffle(new Generator(seed))}.
     *
     * @param seed the seed keying the shuffle
     * @return this loader, for chaining
     */
    public DataLoader shuffle(long seed) { return shuffle(new Generator(seed)); }

    /**
     * Shuffles each epoch with the permutation {@code randperm} draws from {@code generator}'s current state and the
     * epoch; the generator is not advanced.
     *
     * @param generator the generator whose state keys the shuffle
     * @return this loader, for chaining
     */
    public DataLoader shuffle(Generator generator) {
        plan.shuffle(generator);
        return this;
    }

    /**
     * Whether each epoch drops its last batch when it is smaller than the others.
     *
     * @param dropLast whether to drop a last batch smaller than the batch size
     * @return this loader, for chaining
     */
    public DataLoader dropLast(boolean dropLast) {
        plan.dropLast(dropLast);
        return this;
    }

    /**
     * How many batches the background thread may prepare ahead; 0 prepares them on the caller's thread.
     *
     * @param batches the batches prepared ahead, non-negative
     * @return this loader, for chaining
     * @throws IllegalArgumentException if batches is negative
     */
    public DataLoader prefetch(int batches) {
        if (batches < 0) throw new IllegalArgumentException("DataLoader: prefetch must be non-negative, got " + batches);
        this.prefetch = batches;
        return this;
    }

    /**
     * The device batches are made on; by default Kiln's default device.
     *
     * @param device the device, or null for the default
     * @return this loader, for chaining
     */
    public DataLoader device(Device device) {
        this.device = device;
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
     * @param epoch the epoch, from 0 (it picks the shuffle and augmentations)
     * @return the batches; close each one, or let the step's scope do it
     */
    public Iterable<Batch> epoch(int epoch) { return epoch(epoch, 0); }

    /**
     * The batches of {@code epoch} from batch {@code firstBatch} on (to resume mid-epoch).
     *
     * @param epoch the epoch, from 0
     * @param firstBatch the index of the first batch to produce
     * @return the batches; close each one, or let the step's scope do it
     */
    public Iterable<Batch> epoch(int epoch, int firstBatch) {
        return () -> new BatchIterator(order(epoch), epoch, firstBatch);
    }

    /** One batch gathered on the host. */
    private record HostBatch(float[] inputs, int[] inputShape, float[] targets, int[] targetShape, boolean classTargets) {}

    private HostBatch gather(int[] order, int batch, int epoch) {
        int from = batch * plan.batchSize(), to = Math.min(order.length, from + plan.batchSize());
        int b = to - from;
        Example first = dataset.get(order[from], epoch);
        int in = first.input().length, tn = first.target().length;
        float[] inputs = new float[b * in];
        float[] targets = new float[b * tn];
        for (int i = 0; i < b; i++) {
            Example e = i == 0 ? first : dataset.get(order[from + i], epoch);
            if (e.input().length != in || e.target().length != tn || e.classTarget() != first.classTarget())
                throw new IllegalStateException("DataLoader: example " + order[from + i] + " has input shape " + Arrays.toString(e.inputShape())
                        + " but example " + order[from] + " has " + Arrays.toString(first.inputShape()) + "; examples of one batch must agree");
            System.arraycopy(e.input(), 0, inputs, i * in, in);
            System.arraycopy(e.target(), 0, targets, i * tn, tn);
        }
        return new HostBatch(inputs, prepend(b, first.inputShape()), targets, prepend(b, first.targetShape()), first.classTarget());
    }

    private static int[] prepend(int b, int[] shape) {
        int[] s = new int[shape.length + 1];
        s[0] = b;
        System.arraycopy(shape, 0, s, 1, shape.length);
        return s;
    }

    private Batch toTensors(HostBatch h) {
        Tensor x = Tensor.of(h.inputs, h.inputShape);
        Tensor y;
        if (h.classTargets) {
            long[] labels = new long[h.targets.length];
            for (int i = 0; i < labels.length; i++) labels[i] = (long) h.targets[i];
            y = Tensor.of(labels, h.targetShape);
        } else {
            y = Tensor.of(h.targets, h.targetShape);
        }
        if (device != null && !device.equals(x.device())) {
            try (Tensor hx = x; Tensor hy = y) {
                x = hx.to(device);
                y = hy.to(device);
            }
        }
        return new Batch(x, y);
    }

    private static final Object END = new Object();

    private final class BatchIterator implements Iterator<Batch> {
        private final int[] order;
        private final int epoch;
        private final int count = batchCount();
        private int next;
        private final BlockingQueue<Object> queue;

        BatchIterator(int[] order, int epoch, int firstBatch) {
            this.order = order;
            this.epoch = epoch;
            this.next = firstBatch;
            if (prefetch > 0 && firstBatch < count) {
                queue = new ArrayBlockingQueue<>(prefetch);
                Thread t = new Thread(() -> produce(firstBatch), "kiln-dataloader");
                t.setDaemon(true);
                t.start();
            } else {
                queue = null;
            }
        }

        private void produce(int from) {
            try {
                for (int b = from; b < count; b++) queue.put(gather(order, b, epoch));
                queue.put(END);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException e) {
                try {
                    queue.put(e);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        @Override
        public boolean hasNext() { return next < count; }

        @Override
        public Batch next() {
            if (!hasNext()) throw new NoSuchElementException("DataLoader: epoch has " + count + " batches");
            next++;
            if (queue == null) return toTensors(gather(order, next - 1, epoch));
            Object item;
            try {
                item = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("DataLoader: interrupted while waiting for a batch", e);
            }
            if (item instanceof RuntimeException e) throw new IllegalStateException("DataLoader: reading a batch failed: " + e.getMessage(), e);
            return toTensors((HostBatch) item);
        }
    }
}
