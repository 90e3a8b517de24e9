package dev.kiln.examples;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs the example as CI's default test run does, and checks that it does what its documentation says. */
class SpiralClassifierTest {
    @Test
    void learnsTheSpiralsAndReloadsTheCheckpointExactly(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("spirals.safetensors");
        SpiralClassifier.Result r = SpiralClassifier.run(file);
        assertTrue(Files.size(file) > 0, "checkpoint written");
        assertTrue(r.lastLoss() < r.firstLoss() / 4, "loss fell from " + r.firstLoss() + " to " + r.lastLoss());
        assertTrue(r.trainAccuracy() > 0.95, "accuracy " + r.trainAccuracy());
        assertTrue(r.checkpointRoundTripExact(), "the reloaded model predicts what the trained one does");
    }
}
