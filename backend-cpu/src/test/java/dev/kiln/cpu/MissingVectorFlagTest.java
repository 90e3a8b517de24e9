package dev.kiln.cpu;

import dev.kiln.Tensor;
import dev.kiln.backend.DeviceProbe;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A JVM started without {@code --add-modules jdk.incubator.vector} (the flag users most often miss) must say so: in
 * the probe table's CPU row and in the exception the first tensor raises. The test starts such a JVM.
 */
class MissingVectorFlagTest {
    @Test
    void probeAndExceptionNameTheFlag() throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"), WithoutTheFlag.class.getName())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM finished");
        assertEquals(0, p.exitValue(), out);
        String fix = "add the JVM flag --add-modules jdk.incubator.vector";
        String cpuRow = out.lines().filter(l -> l.startsWith("cpu:0")).findFirst().orElseThrow(() -> new AssertionError(out));
        assertTrue(cpuRow.contains("rejected") && cpuRow.contains(fix), cpuRow);
        String exception = out.lines().filter(l -> l.startsWith("exception: ")).findFirst().orElseThrow(() -> new AssertionError(out));
        assertTrue(exception.contains("no Kiln backend is available") && out.indexOf(fix) != out.lastIndexOf(fix), out);
    }

    /** The child JVM's program: the probe table, then what creating a tensor throws. */
    static final class WithoutTheFlag {
        public static void main(String[] args) {
            System.out.print(DeviceProbe.table());
            try {
                Tensor.zeros(1);
                System.out.println("no exception");
            } catch (IllegalStateException e) {
                System.out.println("exception: " + e.getMessage());
            }
        }
    }
}
