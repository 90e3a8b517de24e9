package dev.kiln.cli;

import dev.kiln.nn.io.Safetensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line end to end, in process, on a tiny run. */
class CliTest {
    @TempDir
    Path dir;

    record Outcome(int code, String out, String err) {}

    static Outcome run(String... args) {
        CommandLine cli = Main.commandLine();
        StringWriter out = new StringWriter(), err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Outcome(code, out.toString(), err.toString());
    }

    @Test
    void tinyTrainingRunWritesItsOutputsAndEndsWithTheResultLine() throws Exception {
        Path out = dir.resolve("run");
        Outcome o = run("train", "mnist-mlp", "--epochs", "1", "--batch-size", "32", "--train-size", "256", "--test-size", "200",
                "--seed", "3", "--out", out.toString(), "--no-progress");
        assertEquals(0, o.code, o.err);
        List<String> lines = o.out.lines().toList();
        String last = lines.getLast();
        assertTrue(last.matches("result model=mnist-mlp device=\\S+ metric=held_out_accuracy value=[01]\\.\\d{4} seconds=\\d+\\.\\d"), last);
        double accuracy = Double.parseDouble(last.replaceAll(".*value=(\\S+).*", "$1"));
        assertTrue(accuracy > 0.3, "even 8 steps beat chance (0.1) clearly: " + accuracy);
        assertTrue(Files.size(out.resolve("loss.png")) > 1000);
        List<String> csv = Files.readAllLines(out.resolve("log.csv"));
        assertEquals("step,epoch,loss,lr,held_out_accuracy", csv.getFirst());
        assertEquals(1 + 8 + 1, csv.size(), "a row per step and one per evaluation");
        try (Safetensors.Contents c = Safetensors.read(out.resolve("checkpoint.safetensors"))) {
            assertEquals("1", c.metadata().get("epoch"));
            assertTrue(c.tensors().containsKey("1.weight"));
        }
    }

    @Test
    void zooModelTrainsInQuickModeAndItsCheckpointEvaluatesToTheSameFigure() {
        Path out = dir.resolve("gpt");
        Outcome trained = run("train", "char-gpt", "--quick", "--seed", "2", "--out", out.toString());
        assertEquals(0, trained.code, trained.err + trained.out);
        String last = trained.out.lines().toList().getLast();
        assertTrue(last.matches("result model=char-gpt device=\\S+ metric=held_out_loss value=\\d\\.\\d{4} seconds=\\d+\\.\\d"), last);
        Outcome evaluated = run("eval", "char-gpt", "--checkpoint", out.resolve("checkpoint.safetensors").toString(), "--quick");
        assertEquals(0, evaluated.code, evaluated.err);
        String evalLast = evaluated.out.lines().toList().getLast();
        assertEquals(last.replaceAll(".*(value=\\S+).*", "$1"), evalLast.replaceAll(".*(value=\\S+).*", "$1"), evalLast);
    }

    @Test
    void zooModelsRejectTheMnistRunsOptionsAndEvalNeedsACheckpoint() {
        Outcome epochs = run("train", "lenet", "--epochs", "2", "--out", dir.resolve("z").toString());
        assertEquals(1, epochs.code);
        assertTrue(epochs.err.contains("--epochs applies to the MNIST models only"), epochs.err);
        Outcome quick = run("train", "mnist-mlp", "--quick", "--out", dir.resolve("q").toString());
        assertEquals(1, quick.code);
        assertTrue(quick.err.contains("--quick applies to zoo models only"), quick.err);
        Outcome missing = run("eval", "lenet", "--checkpoint", dir.resolve("none.safetensors").toString());
        assertEquals(1, missing.code);
        assertTrue(missing.err.contains("no such file"), missing.err);
        Outcome wrongModel = run("eval", "no-such-model", "--checkpoint", dir.toString());
        assertEquals(1, wrongModel.code);
        assertTrue(wrongModel.err.contains("no model 'no-such-model'"), wrongModel.err);
    }

    @Test
    void devicesPrintsTheProbeTable() {
        Outcome o = run("devices");
        assertEquals(0, o.code);
        assertTrue(o.out.contains("cpu") && o.out.contains("available"), o.out);
    }

    @Test
    void badInputFailsWithAClearMessage() {
        Outcome unknown = run("train", "resnet-1000", "--out", dir.resolve("x").toString(), "--no-progress");
        assertEquals(1, unknown.code);
        assertTrue(unknown.err.contains("unknown model 'resnet-1000'"), unknown.err);
        Outcome device = run("train", "mnist-mlp", "--device", "cuda:7", "--out", dir.resolve("y").toString(), "--no-progress");
        assertEquals(1, device.code);
        assertTrue(device.err.contains("cuda:7"), device.err);
        assertTrue(device.err.contains("was requested but is not available"), device.err);
        Outcome cpu7 = run("train", "mnist-mlp", "--device", "cpu:7", "--out", dir.resolve("z").toString(), "--no-progress");
        assertEquals(1, cpu7.code);
        assertTrue(cpu7.err.contains("'cpu:7'") && cpu7.err.contains("available cpu devices: cpu"), cpu7.err);
        Outcome bench = run("bench", "--quick");
        assertTrue(bench.code == 0 || bench.err.contains("benchmarks module is not on the class path"), bench.err);
    }

    /** Issue 14, finding 17: each of these ended with exit 0, a bare path or an internal message. */
    @Test
    void hostileTrainingOptionsFailWithTheReasonAndANonZeroExit() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "not a folder");
        Outcome unwritable = run("train", "mnist-mlp", "--epochs", "1", "--out", file.resolve("run").toString(), "--no-progress");
        assertEquals(1, unwritable.code);
        assertTrue(unwritable.err.contains(file.toString()) && unwritable.err.contains("cannot write"), unwritable.err);
        Outcome infinite = run("train", "mnist-mlp", "--epochs", "1", "--lr", "Infinity", "--out", dir.resolve("inf").toString(), "--no-progress");
        assertEquals(1, infinite.code);
        assertTrue(infinite.err.contains("lr") && infinite.err.contains("Infinity"), infinite.err);
        Outcome diverged = run("train", "mnist-mlp", "--epochs", "1", "--batch-size", "32", "--train-size", "160", "--test-size", "50",
                "--lr", "1e30", "--out", dir.resolve("nan").toString(), "--no-progress");
        assertEquals(1, diverged.code, diverged.out);
        assertTrue(diverged.err.contains("training diverged") && diverged.err.contains("lower --lr"), diverged.err);
        assertTrue(!Files.exists(dir.resolve("nan").resolve("checkpoint.safetensors")), "no checkpoint of a diverged run");
        Outcome bigBatch = run("train", "mnist-mlp", "--batch-size", "5000", "--train-size", "256", "--out", dir.resolve("b").toString(), "--no-progress");
        assertEquals(1, bigBatch.code);
        assertTrue(bigBatch.err.contains("--batch-size 5000") && bigBatch.err.contains("256"), bigBatch.err);
        Outcome fewSteps = run("train", "mnist-mlp", "--epochs", "1", "--batch-size", "100", "--train-size", "256", "--out", dir.resolve("c").toString(), "--no-progress");
        assertEquals(1, fewSteps.code);
        assertTrue(fewSteps.err.contains("2 steps") && fewSteps.err.contains("at least 5"), fewSteps.err);
    }
}
