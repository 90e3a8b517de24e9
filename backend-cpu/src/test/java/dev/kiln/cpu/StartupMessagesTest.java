package dev.kiln.cpu;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.backend.DeviceProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a program using Kiln prints by itself, and what it is told when its JVM lacks a flag or has a debugging one:
 * each test starts a JVM with the flags under test on this module's class path and runs {@link Program} in it.
 */
class StartupMessagesTest {
    private static final String FLAGS_FIX = "add the JVM flag --add-modules jdk.incubator.vector";

    /** What the child JVM wrote. */
    private record Output(String stdout, String stderr) {}

    @TempDir
    Path dir;

    @Test
    void withoutTheVectorFlagTheProbeAndTheExceptionNameIt() throws Exception {
        Output out = runProgram(List.of());
        String cpuRow = out.stdout.lines().filter(l -> l.startsWith("cpu:0")).findFirst().orElseThrow(() -> new AssertionError(out));
        assertTrue(cpuRow.contains("rejected") && cpuRow.contains(FLAGS_FIX), cpuRow);
        String exception = out.stdout.lines().filter(l -> l.startsWith("exception: ")).findFirst().orElseThrow(() -> new AssertionError(out));
        assertTrue(exception.contains("no Kiln backend is available"), exception);
        assertTrue(out.stdout.indexOf(FLAGS_FIX) != out.stdout.lastIndexOf(FLAGS_FIX), "the exception's table names the flag too: " + out);
    }

    @Test
    void quietByDefault() throws Exception {
        // The documented flags: the CPU allocator calls the C library through java.lang.foreign.
        Output out = runProgram(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"));
        assertTrue(out.stdout.contains("default device: cpu:0 (automatic"), out.stdout);
        assertTrue(out.stdout.contains("created"), out.stdout);
        // The JVM's own incubator notice is the one line left; the kiln launcher drops it.
        assertEquals(List.of("WARNING: Using incubator modules: jdk.incubator.vector"), out.stderr.lines().toList());
    }

    @Test
    void verboseLogsTheChoice() throws Exception {
        Output out = runProgram(List.of("--add-modules", "jdk.incubator.vector", "-Dkiln.verbose=true"));
        assertTrue(out.stderr.contains("Kiln device cpu:0 (automatic)"), out.stderr);
    }

    @Test
    void debugScopesNamesWhereTheClosingScopeWasOpened() throws Exception {
        Output out = runProgram(List.of("--add-modules", "jdk.incubator.vector", "-Dkiln.debugScopes=true"), "scope");
        assertTrue(out.stdout.contains("(opened at " + Program.class.getName() + ".main(StartupMessagesTest.java:"), out.stdout);
    }

    private Output runProgram(List<String> jvmFlags, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(jvmFlags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Program.class.getName()));
        command.addAll(List.of(args));
        Path stderr = dir.resolve("stderr.txt");
        Process p = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM finished");
        Output out = new Output(stdout, Files.readString(stderr));
        assertEquals(0, p.exitValue(), out.toString());
        return out;
    }

    /**
     * The child JVM's program: the probe table, then a tensor (or what creating one throws); with the argument
     * {@code scope}, what using a tensor after its scope closed throws.
     */
    static final class Program {
        public static void main(String[] args) {
            if (args.length > 0 && args[0].equals("scope")) {
                Tensor t;
                try (Scope s = Scope.open()) {
                    t = Tensor.zeros(1);
                }
                try {
                    t.add(1);
                } catch (IllegalStateException e) {
                    System.out.println("exception: " + e.getMessage());
                }
                return;
            }
            System.out.print(DeviceProbe.table());
            try {
                Tensor.zeros(1);
                System.out.println("created");
            } catch (IllegalStateException e) {
                System.out.println("exception: " + e.getMessage());
            }
        }
    }
}
