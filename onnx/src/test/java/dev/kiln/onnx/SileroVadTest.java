package dev.kiln.onnx;

import dev.kiln.testkit.TestDevice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The Silero voice-activity detectors (recurrent: Conv1d feature stack, LSTM, If branches on the sample rate)
 * against ONNX Runtime on every device: several 512-sample chunks of a synthetic signal, the recurrent state
 * ONNX Runtime returns fed to both for the next chunk, so each chunk compares the same computation.
 */
class SileroVadTest {
    static List<TestDevice> devices() { return TestDevice.underTest(); }

    private static final int CHUNK = 512, CHUNKS = 3;

    /** A chirp with noise: voice-like energy that changes from chunk to chunk. */
    private static float[] chunk(int index, Random random) {
        float[] x = new float[CHUNK];
        for (int i = 0; i < CHUNK; i++) {
            double t = (index * CHUNK + i) / 16000.0;
            x[i] = (float) (0.3 * Math.sin(2 * Math.PI * (200 + 800 * t) * t) + 0.05 * random.nextGaussian());
        }
        return x;
    }

    @ParameterizedTest
    @MethodSource("devices")
    void legacyMatchesOnnxRuntime(TestDevice device) throws Exception {
        device.activate();
        Path file = PublishedModels.shared("silero_vad_legacy.onnx", "a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28");
        try (ModelRun run = new ModelRun("silero_vad_legacy", file, device.device())) {
            Random random = new Random(1);
            ReferenceRuntime.Host h = ReferenceRuntime.Host.floats(new float[2 * 64], 2, 1, 64), c = ReferenceRuntime.Host.floats(new float[2 * 64], 2, 1, 64);
            for (int i = 0; i < CHUNKS; i++) {
                Map<String, ReferenceRuntime.Host> out = run.compare("chunk " + i, Map.of(
                        "input", ReferenceRuntime.Host.floats(chunk(i, random), 1, CHUNK),
                        "sr", ReferenceRuntime.Host.longs(new long[] {16000}),
                        "h", h, "c", c));
                h = out.get("hn");
                c = out.get("cn");
            }
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void v5MatchesOnnxRuntime(TestDevice device) throws Exception {
        device.activate();
        Path file = PublishedModels.shared("silero_vad_v5.onnx", "2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f");
        try (ModelRun run = new ModelRun("silero_vad_v5", file, device.device())) {
            Random random = new Random(2);
            ReferenceRuntime.Host state = ReferenceRuntime.Host.floats(new float[2 * 128], 2, 1, 128);
            for (int i = 0; i < CHUNKS; i++) {
                Map<String, ReferenceRuntime.Host> out = run.compare("chunk " + i, Map.of(
                        "input", ReferenceRuntime.Host.floats(chunk(i, random), 1, CHUNK),
                        "sr", ReferenceRuntime.Host.longs(new long[] {16000}),
                        "state", state));
                state = out.get("stateN");
            }
        }
    }

    @AfterAll
    static void report() { System.out.println(ModelRun.report()); }
}
