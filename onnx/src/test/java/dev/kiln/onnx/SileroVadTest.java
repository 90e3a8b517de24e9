package dev.kiln.onnx;

import dev.kiln.testkit.TestDevice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

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

    /** One detector: its file and its recurrent state, as input name to output name and shape. */
    record Detector(String name, String sha256, Map<String, String> stateOutputs, long[] stateShape) {
        @Override
        public String toString() { return name; }
    }

    static Stream<Arguments> cases() {
        List<Detector> detectors = List.of(
                new Detector("silero_vad_legacy", "a35ebf52fd3ce5f1469b2a36158dba761bc47b973ea3382b3186ca15b1f5af28", Map.of("h", "hn", "c", "cn"), new long[] {2, 1, 64}),
                new Detector("silero_vad_v5", "2623a2953f6ff3d2c1e61740c6cdb7168133479b267dfef114a4a3cc5bdd788f", Map.of("state", "stateN"), new long[] {2, 1, 128}));
        return devices().stream().flatMap(d -> detectors.stream().map(v -> Arguments.of(d, v)));
    }

    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("cases")
    void matchesOnnxRuntime(TestDevice device, Detector v) throws Exception {
        device.activate();
        Path file = PublishedModels.silero(v.name() + ".onnx", v.sha256());
        try (ModelRun run = new ModelRun(v.name(), file, device.device())) {
            Random random = new Random(v.name().length());
            Map<String, ReferenceRuntime.Host> state = new HashMap<>();
            for (String input : v.stateOutputs().keySet())
                state.put(input, ReferenceRuntime.Host.floats(new float[(int) (v.stateShape()[0] * v.stateShape()[1] * v.stateShape()[2])], v.stateShape()));
            for (int i = 0; i < CHUNKS; i++) {
                Map<String, ReferenceRuntime.Host> inputs = new HashMap<>(state);
                inputs.put("input", ReferenceRuntime.Host.floats(chunk(i, random), 1, CHUNK));
                inputs.put("sr", ReferenceRuntime.Host.longs(new long[] {16000}));
                Map<String, ReferenceRuntime.Host> out = run.compare("chunk " + i, inputs);
                v.stateOutputs().forEach((in, outName) -> state.put(in, out.get(outName)));
            }
        }
    }

    @AfterAll
    static void report() { System.out.println(ModelRun.report()); }
}
