package dev.kiln.nn.determinism;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * With a fixed seed and thread count, a CPU training run is bit-identical from one JVM to the next and after a
 * resume from a checkpoint. Separate processes matter: the JIT compiles methods at times that differ between
 * runs, and a kernel whose floats depended on whether it was compiled yet (vector lane sums did) passes any
 * in-process comparison made after warm-up.
 */
class DeterminismTest {
    private static final int STEPS = 200;

    @TempDir
    Path dir;

    @Test
    void seededTrainingRepeatsBitForBitInFreshJvmsAndAcrossAResume() throws Exception {
        String first = run(Integer.toString(STEPS));
        String second = run(Integer.toString(STEPS));
        assertTrue(first.startsWith("result "), first);
        assertEquals(first, second, "two JVMs, same seed");

        Path checkpoint = dir.resolve("half.safetensors");
        assertEquals("stopped " + STEPS / 2, run(Integer.toString(STEPS), checkpoint.toString(), Integer.toString(STEPS / 2)));
        assertEquals(first, run(Integer.toString(STEPS), "--resume", checkpoint.toString()), "stopped at " + STEPS / 2 + " and resumed in a new JVM");
    }

    /** Runs {@link TrainingRun} in a new JVM with this one's class path and flags, one CPU thread; its last line. */
    private static String run(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dkiln.device=cpu", "-Dkiln.cpu.threads=1", "-cp", System.getProperty("java.class.path"), TrainingRun.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "training JVM failed:\n" + out);
        String[] lines = out.strip().split("\n");
        return lines[lines.length - 1].strip();
    }
}
