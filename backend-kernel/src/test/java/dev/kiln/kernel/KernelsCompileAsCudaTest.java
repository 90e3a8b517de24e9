package dev.kiln.kernel;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The build-time check that every kernel source compiles as CUDA C++ for sm_80 and sm_90, for the defines
 * {@link KernelBackend} builds on a GPU ({@link LaunchedPrograms}), so the CUDA backend launches the kernels PoCL
 * tests. Where nvcc is not on the PATH the test is reported skipped with that reason.
 *
 * <p>The backend builds hundreds of programs, most of them differing only in the op folded in (OP, ENTRY: the same
 * code) or in one slot's dtype. To stay fast on two cores the check compiles a covering subset: every value each
 * define takes in a family (each dtype in each type slot, DENSE and not, each ROW_VW and tile geometry, each
 * output type) appears in at least one compiled program.
 */
class KernelsCompileAsCudaTest {
    private static final List<String> ARCHITECTURES = List.of("arch=compute_80,code=sm_80", "arch=compute_90,code=sm_90");

    @Test
    void everyLaunchedProgramCompilesWithNvcc() throws Exception {
        String nvcc = onPath("nvcc");
        assumeTrue(nvcc != null, "nvcc is not on the PATH: the CUDA compile check of the kernel sources is skipped");
        List<LaunchedPrograms.Built> chosen = covering(LaunchedPrograms.onGpu());

        Path dir = Path.of("target", "cuda-check");
        Files.createDirectories(dir);
        try (var old = Files.list(dir)) {
            for (Path f : old.toList()) Files.delete(f);
        }
        List<String> units = new ArrayList<>();
        int i = 0;
        for (LaunchedPrograms.Built p : chosen) {
            String name = String.format("%03d_%s.cu", i++, p.family());
            Files.writeString(dir.resolve(name), cudaUnit(p), StandardCharsets.UTF_8);
            units.add(name);
        }
        // Two nvcc processes (CI has two cores), each compiling half of the units for both architectures.
        long start = System.nanoTime();
        List<Process> running = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        for (int part = 0; part < 2; part++) {
            List<String> cmd = new ArrayList<>(List.of(nvcc, "-fatbin", "-std=c++17", "-Werror", "all-warnings"));
            for (String arch : ARCHITECTURES) cmd.addAll(List.of("-gencode", arch));
            for (int u = part; u < units.size(); u += 2) cmd.add(units.get(u));
            Path log = dir.resolve("nvcc-" + part + ".log");
            logs.add(log);
            running.add(new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start());
        }
        StringBuilder failures = new StringBuilder();
        for (int part = 0; part < 2; part++) {
            Process p = running.get(part);
            assertTrue(p.waitFor(20, TimeUnit.MINUTES), "nvcc did not finish in 20 minutes");
            if (p.exitValue() != 0) failures.append(Files.readString(logs.get(part)));
        }
        assertEquals("", failures.toString(), "kernel sources that do not compile as CUDA (units in " + dir.toAbsolutePath() + ")");
        System.out.printf("CUDA compile check: %d programs (%d families) compiled for sm_80 and sm_90 in %.1f s%n",
                units.size(), chosen.stream().map(LaunchedPrograms.Built::family).distinct().count(),
                (System.nanoTime() - start) / 1e9);
    }

    /** Programs in order, each kept when it has a define value (or an absent define) no kept one of its family had. */
    static List<LaunchedPrograms.Built> covering(List<LaunchedPrograms.Built> all) {
        Map<String, Set<String>> namesByFamily = new HashMap<>();
        for (LaunchedPrograms.Built p : all) namesByFamily.computeIfAbsent(p.family(), f -> new TreeSet<>()).addAll(defines(p).keySet());
        Set<String> covered = new HashSet<>();
        List<LaunchedPrograms.Built> chosen = new ArrayList<>();
        for (LaunchedPrograms.Built p : all) {
            Map<String, String> d = defines(p);
            boolean adds = false;
            for (String name : namesByFamily.get(p.family()))
                adds |= covered.add(p.family() + ":" + name + "=" + d.getOrDefault(name, "(absent)"));
            if (adds) chosen.add(p);
        }
        return chosen;
    }

    /** The program's defines by name, without OP and ENTRY (which choose the op, not the code compiled). */
    private static Map<String, String> defines(LaunchedPrograms.Built p) {
        Map<String, String> out = new TreeMap<>(parse(p));
        out.remove("OP");
        out.remove("ENTRY");
        return out;
    }

    /** The build options {@code -DNAME=value} / {@code -DNAME} as name to value ("" for none), in order. */
    private static Map<String, String> parse(LaunchedPrograms.Built p) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String option : p.defines().trim().split("\\s+")) {
            if (option.isEmpty()) continue;
            if (!option.startsWith("-D")) throw new IllegalStateException("not a define: " + option);
            String[] kv = option.substring(2).split("=", 2);
            out.put(kv[0], kv.length > 1 ? kv[1] : "");
        }
        return out;
    }

    /** The program as one CUDA translation unit: its defines, then the same text the OpenCL runtime builds. */
    static String cudaUnit(LaunchedPrograms.Built p) {
        StringBuilder sb = new StringBuilder("// ").append(p.family()).append(": ").append(String.join(", ", p.entries())).append('\n');
        sb.append("#define KILN_FP64\n");
        parse(p).forEach((name, value) -> sb.append("#define ").append(name).append(' ').append(value).append('\n'));
        return sb.append(KernelSources.unit(p.family())).toString();
    }

    private static String onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) return null;
        for (String d : path.split(File.pathSeparator)) {
            Path f = Path.of(d, tool);
            if (Files.isExecutable(f)) return f.toString();
        }
        return null;
    }
}
