package dev.kiln.nn.zoo;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every zoo model's quick mode: the loss falls, a checkpoint is written and evaluates back to the reported metric.
 * {@code -Dkiln.zoo.only=name,name} runs only the models named (while working on one).
 */
class ZooTest {

    static List<String> models() {
        String only = System.getProperty("kiln.zoo.only");
        return only == null ? Zoo.names() : List.of(only.split(","));
    }

    @ParameterizedTest
    @MethodSource("models")
    void quickModeLowersTheLossAndItsCheckpointEvaluatesBack(String name, @TempDir Path dir) throws Exception {
        ZooModel model = Zoo.get(name);
        StringWriter log = new StringWriter();
        ZooOptions options = new ZooOptions(true, 1, dir, new PrintWriter(log));
        ZooResult trained = model.train(options);
        assertTrue(trained.lossFell(), name + ": loss went from " + trained.firstLoss() + " to " + trained.lastLoss() + "\n" + log);
        assertTrue(Double.isFinite(trained.value()), name + ": " + trained);
        Path checkpoint = dir.resolve(ZooModel.CHECKPOINT);
        assertTrue(Files.isRegularFile(checkpoint), name + " wrote no checkpoint");
        ZooResult evaluated = model.evaluate(checkpoint, options);
        assertEquals(trained.metric(), evaluated.metric());
        assertEquals(trained.value(), evaluated.value(), 1e-4, name + ": the checkpoint evaluates to another " + trained.metric());
    }
}
