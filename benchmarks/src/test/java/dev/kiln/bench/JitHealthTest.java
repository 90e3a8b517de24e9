package dev.kiln.bench;

import dev.kiln.Device;
import dev.kiln.backend.Backend;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.nn.models.Gpt;

import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every CPU kernel method that the training steps make hot must compile, at every tier it reaches. A Vector API
 * method too large for C1 ("out of virtual registers") is worse than slow: when a tier-2 compile came first, HotSpot
 * never profiles it for C2, so it stays in C1 code that runs the API's boxing fallback, 3-4x slower and allocating
 * tens of megabytes per step, in some JVMs and not others (the 2x2 max-pool vector loop did this to LeNet's step).
 * The check reads HotSpot's own compilation events through JFR, so it fails on the method, not on a timing.
 */
class JitHealthTest {

    @Test
    void theTrainingStepsKernelsAllCompile() throws Exception {
        String device = "cpu:0";
        Backend be = DeviceProbe.backend(Device.parse(device));
        Path dump = Files.createTempFile("kiln-jit", ".jfr");
        try (Recording recording = new Recording()) {
            recording.enable("jdk.Compilation").withThreshold(Duration.ZERO);
            recording.start();
            try (Workload lenet = Networks.lenet5Step(be, device, 16);
                 Workload lstm = Networks.lstmStep(be, device, 2, 8, 4, 16, 32);
                 Workload gpt = Networks.gptStep(be, device, new Gpt.Config(17, 16, 2, 2, 32, false), 4)) {
                for (int i = 0; i < 150; i++) {
                    lenet.run();
                    lstm.run();
                    gpt.run();
                }
            }
            recording.stop();
            recording.dump(dump);
        }
        try {
            // A compile can also fail for a passing reason ("concurrent class loading") and succeed when retried, so
            // what counts is a method that failed at a tier and never compiled there.
            Map<String, Boolean> compiled = new TreeMap<>();
            for (RecordedEvent e : RecordingFile.readAllEvents(dump)) {
                if (!method(e).startsWith("dev.kiln.")) continue;
                String at = method(e) + " at tier " + e.getValue("compileLevel") + (e.getBoolean("isOsr") ? " (OSR)" : "");
                compiled.merge(at, e.getBoolean("succeded"), Boolean::logicalOr);
            }
            List<String> failed = compiled.entrySet().stream().filter(e -> !e.getValue()).map(Map.Entry::getKey).toList();
            assertEquals(List.of(), failed, "Kiln methods that HotSpot could not compile (split them so each tier can)");
        } finally {
            Files.deleteIfExists(dump);
        }
    }

    private static String method(RecordedEvent e) {
        RecordedMethod m = e.getValue("method");
        return m.getType().getName() + "." + m.getName();
    }
}
