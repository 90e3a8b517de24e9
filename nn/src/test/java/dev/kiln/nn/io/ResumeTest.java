package dev.kiln.nn.io;

import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.nn.Activation;
import dev.kiln.nn.BatchNorm1d;
import dev.kiln.nn.Check;
import dev.kiln.nn.Dropout;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.Sequential;
import dev.kiln.nn.data.ArrayDataset;
import dev.kiln.nn.data.Batch;
import dev.kiln.nn.data.DataLoader;
import dev.kiln.nn.loss.Loss;
import dev.kiln.nn.optim.AdamW;
import dev.kiln.nn.optim.LRScheduler;
import dev.kiln.nn.optim.LrSchedule;
import dev.kiln.nn.optim.Optimizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A run stopped, checkpointed and resumed in fresh objects ends bit-identical to the uninterrupted run. */
class ResumeTest {
    private static final int STEPS = 12;
    private static final int STOP = 5;

    @TempDir
    Path dir;

    private static ArrayDataset data() {
        double[] raw = Check.data(11, 40 * 6, -1, 1);
        float[] x = new float[raw.length];
        for (int i = 0; i < x.length; i++) x[i] = (float) raw[i];
        int[] y = new int[40];
        for (int i = 0; i < 40; i++) y[i] = (x[6 * i] + x[6 * i + 1] > 0 ? 1 : 0) + (x[6 * i + 2] > 0.5 ? 1 : 0);
        return new ArrayDataset(x, new int[] {6}, y);
    }

    /** Dropout (random masks) and batch norm (buffers) make the resume depend on RNG and buffer state. */
    private static Module model(long seed) {
        Kiln.manualSeed(seed);
        return new Sequential(new Linear(6, 8), new BatchNorm1d(8), Activation.relu(), new Dropout(0.3), new Linear(8, 3));
    }

    private record Run(Module model, Optimizer optimizer, LRScheduler scheduler) {}

    private static Run fresh(long seed) {
        Module m = model(seed);
        Optimizer opt = new AdamW(m.parameters(), 0.01);
        return new Run(m, opt, new LRScheduler(opt, LrSchedule.warmupCosine(3, STEPS, 0.001)));
    }

    /** Trains steps [from, to) and returns their losses. */
    private static List<Double> train(Run r, DataLoader loader, int from, int to) {
        List<Double> losses = new ArrayList<>();
        Loss ce = Loss.crossEntropy();
        int perEpoch = loader.batchCount();
        int step = from;
        while (step < to) {
            Iterator<Batch> it = loader.epoch(step / perEpoch, step % perEpoch).iterator();
            while (it.hasNext() && step < to) {
                try (Scope s = Scope.open(); Batch b = it.next()) {
                    Tensor loss = ce.forward(r.model.forward(b.inputs()), b.targets());
                    r.optimizer.zeroGrad();
                    loss.backward();
                    try (GradMode g = GradMode.noGrad()) {
                        r.optimizer.step();
                    }
                    losses.add(loss.item());
                }
                r.scheduler.step();
                step++;
            }
        }
        return losses;
    }

    @Test
    void resumedRunIsBitIdentical() throws IOException {
        DataLoader loader = new DataLoader(data(), 8).shuffle(5).dropLast(true);
        Run straight = fresh(1);
        List<Double> all = train(straight, loader, 0, STEPS);

        Run first = fresh(1);
        List<Double> head = train(first, loader, 0, STOP);
        Path ckpt = dir.resolve("ckpt.safetensors");
        Checkpoint.save(ckpt, first.model, first.optimizer, first.scheduler, Map.of("step", Integer.toString(STOP)));
        Kiln.manualSeed(999);

        Run resumed = fresh(2);
        Map<String, String> meta = Checkpoint.load(ckpt, resumed.model, resumed.optimizer, resumed.scheduler);
        assertEquals(Integer.toString(STOP), meta.get("step"));
        List<Double> tail = train(resumed, loader, Integer.parseInt(meta.get("step")), STEPS);

        List<Double> joined = new ArrayList<>(head);
        joined.addAll(tail);
        assertEquals(all, joined, "every step's loss matches");
        List<double[]> a = Check.snapshot(straight.model), b = Check.snapshot(resumed.model);
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i), "state tensor " + i);
        assertEquals(straight.optimizer.stateJson(), resumed.optimizer.stateJson());
        assertTrue(all.get(STEPS - 1) < all.get(0), "it learns something: " + all);
    }

    @Test
    void checkpointRoundTripIsBitExactAndChecksItsFormat() throws IOException {
        Run r = fresh(3);
        train(r, new DataLoader(data(), 8), 0, 2);
        Path ckpt = dir.resolve("c.safetensors");
        Checkpoint.save(ckpt, r.model, r.optimizer, r.scheduler, null);
        Run other = fresh(4);
        Checkpoint.load(ckpt, other.model, other.optimizer, other.scheduler);
        List<double[]> a = Check.snapshot(r.model), b = Check.snapshot(other.model);
        for (int i = 0; i < a.size(); i++) assertArrayEquals(a.get(i), b.get(i));
        Map<String, Tensor> os = r.optimizer.stateTensors(), ob = other.optimizer.stateTensors();
        assertEquals(os.keySet(), ob.keySet());
        for (String k : os.keySet()) assertArrayEquals(os.get(k).toDoubleArray(), ob.get(k).toDoubleArray(), k);
        assertEquals(r.scheduler.stateJson(), other.scheduler.stateJson());

        try (Safetensors.Contents c = Safetensors.read(ckpt)) {
            assertTrue(c.tensors().containsKey("0.weight"), "model weights keep their own names for other readers");
            assertTrue(c.tensors().keySet().stream().anyMatch(k -> k.startsWith("optimizer/")));
        }
        Path plain = dir.resolve("plain.safetensors");
        Safetensors.write(plain, r.model.stateDict(), Map.of());
        IOException e = assertThrows(IOException.class, () -> Checkpoint.load(plain, other.model, null, null));
        assertTrue(e.getMessage().contains("not a Kiln checkpoint"), e.getMessage());
        byte[] bytes = Files.readAllBytes(ckpt);
        Files.write(ckpt, java.util.Arrays.copyOf(bytes, bytes.length - 10));
        assertThrows(IOException.class, () -> Checkpoint.load(ckpt, other.model, other.optimizer, other.scheduler));
    }
}
