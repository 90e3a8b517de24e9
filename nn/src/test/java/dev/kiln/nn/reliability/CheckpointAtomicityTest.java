package dev.kiln.nn.reliability;

import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.Linear;
import dev.kiln.nn.Module;
import dev.kiln.nn.Sequential;
import dev.kiln.nn.io.Checkpoint;
import dev.kiln.nn.io.Safetensors;
import dev.kiln.nn.optim.Adam;
import dev.kiln.nn.optim.LRScheduler;
import dev.kiln.nn.optim.LrSchedule;
import dev.kiln.nn.optim.Optimizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checkpoint.load validates everything before it changes anything: a file it cannot load is an IOException that
 * says why, and the model, optimizer and learning rate are left as they were (issue 14, findings 11, 13).
 */
class CheckpointAtomicityTest {
    @TempDir
    Path dir;

    private static Module model(long seed) {
        Kiln.manualSeed(seed);
        return new Sequential(new Linear(3, 4), new Linear(4, 2));
    }

    /** A checkpoint after two Adam steps, so it holds moments and step counts. */
    private Path trainedCheckpoint() throws IOException {
        Path file = dir.resolve("good.safetensors");
        try (Scope s = Scope.open(); Module m = model(1); Optimizer opt = new Adam(m.parameters(), 0.01)) {
            LRScheduler sched = new LRScheduler(opt, LrSchedule.constant());
            for (int i = 0; i < 2; i++) {
                try (Scope step = Scope.open()) {
                    m.forward(Tensor.ones(5, 3)).square().sum().backward();
                    opt.step();
                    opt.zeroGrad();
                }
            }
            Checkpoint.save(file, m, opt, sched, Map.of("epoch", "3"));
        }
        return file;
    }

    /** Rewrites a checkpoint with its tensors and metadata edited. */
    private Path edited(Path from, UnaryOperator<Map<String, Tensor>> tensors, UnaryOperator<Map<String, String>> meta) throws IOException {
        Path to = dir.resolve("edited.safetensors");
        try (Safetensors.Contents c = Safetensors.read(from)) {
            Safetensors.write(to, tensors.apply(new LinkedHashMap<>(c.tensors())), meta.apply(new LinkedHashMap<>(c.metadata())));
        }
        return to;
    }

    private static List<float[]> weights(Module m) {
        List<float[]> out = new ArrayList<>();
        for (Tensor p : m.parameters()) out.add(p.toFloatArray());
        return out;
    }

    private void assertLoadFailsAndChangesNothing(Path bad, String... fragments) {
        try (Scope s = Scope.open(); Module m = model(2); Optimizer opt = new Adam(m.parameters(), 0.5)) {
            LRScheduler sched = new LRScheduler(opt, LrSchedule.constant());
            List<float[]> before = weights(m);
            String optimizerBefore = opt.stateJson();
            IOException e = assertThrows(IOException.class, () -> Checkpoint.load(bad, m, opt, sched));
            for (String f : fragments) assertTrue(e.getMessage().contains(f), () -> "'" + e.getMessage() + "' should mention " + f);
            List<float[]> after = weights(m);
            for (int i = 0; i < before.size(); i++) assertArrayEquals(before.get(i), after.get(i), "parameter " + i + " was overwritten");
            assertEquals(optimizerBefore, opt.stateJson(), "optimizer state was changed");
            assertEquals(0.5, opt.lr());
        }
    }

    @Test
    void aShapeMismatchOnTheSecondParameterChangesNothing() throws IOException {
        Path good = trainedCheckpoint();
        String second = new ArrayList<>(model(3).stateDict().keySet()).get(2);
        assertLoadFailsAndChangesNothing(edited(good, t -> {
            t.put(second, Tensor.zeros(7, 7));
            return t;
        }, m -> m), second, "[7, 7]");
    }

    @Test
    void anOptimizerMomentOfTheWrongShapeFailsAtLoad() throws IOException {
        Path good = trainedCheckpoint();
        assertLoadFailsAndChangesNothing(edited(good, t -> {
            t.put("optimizer/0.exp_avg", Tensor.zeros(1));
            return t;
        }, m -> m), "0.exp_avg", "shape");
    }

    @Test
    void malformedMetadataIsAnIoExceptionNotACastOrNullPointer() throws IOException {
        Path good = trainedCheckpoint();
        List<UnaryOperator<Map<String, String>>> edits = List.of(
                m -> { m.put("optimizer", "{\"optimizer\":\"Adam\",\"groups\":7,\"defaults\":{},\"steps\":{}}"); return m; },
                m -> { m.put("optimizer", m.get("optimizer").replace("\"lr\":0.01", "\"lr\":\"fast\"")); return m; },
                m -> { m.put("optimizer", m.get("optimizer").replace("\"steps\":{", "\"steps\":{\"99\":1,")); return m; },
                m -> { m.put("optimizer", m.get("optimizer").replace("\"beta1\":0.9", "\"beta1\":1.5")); return m; },
                m -> { m.put("scheduler", "{\"step\":1,\"base_lrs\":\"x\"}"); return m; },
                m -> { m.put("rng", "[1]"); return m; },
                m -> { m.remove("scheduler"); return m; });
        for (UnaryOperator<Map<String, String>> edit : edits) assertLoadFailsAndChangesNothing(edited(good, t -> t, edit));
    }

    @Test
    void extraMetadataCannotReplaceTheCheckpointsOwnKeys() {
        try (Scope s = Scope.open(); Module m = model(1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Checkpoint.save(dir.resolve("x.safetensors"), m, null, null, Map.of("format", "mine")));
            assertTrue(e.getMessage().contains("'format'") && e.getMessage().contains("reserved"), e.getMessage());
        }
    }

    @Test
    void seededMutationsOfACheckpointLoadOrFailCleanly() throws IOException {
        byte[] original = Files.readAllBytes(trainedCheckpoint());
        SplittableRandom random = new SplittableRandom(1414);
        Path p = dir.resolve("mutant.safetensors");
        for (int i = 0; i < 300; i++) {
            byte[] m = original.clone();
            int edits = 1 + random.nextInt(4);
            for (int e = 0; e < edits; e++) m[8 + random.nextInt(m.length - 8)] = (byte) "{}[]\":,0123456789-e.".charAt(random.nextInt(20));
            Files.write(p, m);
            try (Scope s = Scope.open(); Module model = model(2); Optimizer opt = new Adam(model.parameters(), 0.5)) {
                List<float[]> before = weights(model);
                try {
                    Checkpoint.load(p, model, opt, null);
                } catch (IOException refused) {
                    List<float[]> after = weights(model);
                    for (int k = 0; k < before.size(); k++) assertArrayEquals(before.get(k), after.get(k), "mutation " + i + " changed parameter " + k);
                } catch (RuntimeException | Error e) {
                    fail("mutation " + i + " failed with " + e + " instead of an IOException", e);
                }
            }
        }
    }

    @Test
    void aTemporaryFileLeftByAKilledSaveIsSweptByTheNextSave() throws IOException {
        Path file = dir.resolve("run.safetensors");
        long deadPid = ProcessHandle.current().pid() + 4_000_000; // beyond Linux's pid_max: no such process
        Path stale = Files.writeString(dir.resolve("run.safetensors." + deadPid + ".123.tmp"), "half written");
        Path live = Files.writeString(dir.resolve("run.safetensors." + ProcessHandle.current().pid() + ".456.tmp"), "being written");
        try (Scope s = Scope.open()) {
            Safetensors.write(file, Map.of("x", Tensor.ones(2)), Map.of());
        }
        assertFalse(Files.exists(stale), "the dead process's temporary file is deleted");
        assertTrue(Files.exists(live), "a live process's temporary file is kept");
        assertTrue(Files.exists(file));
    }
}
