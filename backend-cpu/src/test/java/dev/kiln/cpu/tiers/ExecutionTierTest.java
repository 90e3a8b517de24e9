package dev.kiln.cpu.tiers;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU kernels give the same bits interpreted and compiled. HotSpot runs a method in the interpreter, then C1,
 * then C2, at moments that vary from run to run; a kernel whose floats depend on the tier (the Vector API's
 * {@code lanewise(EXP)} and {@code reduceLanes(ADD)} both did) makes seeded training differ from one run to the next,
 * which a comparison of two ordinary JVMs catches only by luck. Here one JVM runs {@link TierWorkload} with
 * {@code -Xint}, and another with low compile thresholds, compiling synchronously, for enough rounds that its last
 * rounds run C2's code; that JVM also checks that every round agreed with its first, and each entry must match. The vector width of this test JVM is passed on, so the
 * 256-bit execution checks the AVX2 paths.
 */
class ExecutionTierTest {
    @Test
    void interpretedAndCompiledKernelsAgreeBitForBit() throws Exception {
        Map<String, String> interpreted = run(1, "-Xint");
        Map<String, String> compiled = run(30, "-Xbatch", "-XX:Tier3InvocationThreshold=5", "-XX:Tier3MinInvocationThreshold=5",
                "-XX:Tier3CompileThreshold=10", "-XX:Tier3BackEdgeThreshold=100", "-XX:Tier4InvocationThreshold=20",
                "-XX:Tier4MinInvocationThreshold=10", "-XX:Tier4CompileThreshold=30", "-XX:Tier4BackEdgeThreshold=500");
        assertTrue(interpreted.size() > 40, "workload entries: " + interpreted.keySet());
        assertEquals(interpreted.keySet(), compiled.keySet());
        List<String> differ = new ArrayList<>();
        interpreted.forEach((k, v) -> { if (!v.equals(compiled.get(k))) differ.add(k); });
        assertEquals(List.of(), differ, "kernels whose bits depend on the execution tier");
    }

    private static Map<String, String> run(int rounds, String... flags) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(flags));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (arg.startsWith("-XX:MaxVectorSize=")) command.add(arg);
        command.addAll(List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-Dkiln.device=cpu", "-Dkiln.cpu.threads=2", "-cp", System.getProperty("java.class.path"),
                TierWorkload.class.getName(), Integer.toString(rounds)));
        Path log = Files.createTempFile("tier-workload", ".txt");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean finished = p.waitFor(10, TimeUnit.MINUTES);
        if (!finished) p.destroyForcibly().waitFor();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        assertTrue(finished, String.join(" ", flags) + " JVM still running after 10 minutes:\n" + out);
        assertEquals(0, p.exitValue(), String.join(" ", flags) + " JVM failed:\n" + out);
        Map<String, String> entries = new LinkedHashMap<>();
        for (String line : out.strip().split("\n")) {
            String[] parts = line.strip().split(" ");
            if (parts.length == 2) entries.put(parts[0], parts[1]);
        }
        return entries;
    }
}
