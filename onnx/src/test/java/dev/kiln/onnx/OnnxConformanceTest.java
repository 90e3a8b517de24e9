package dev.kiln.onnx;

import dev.kiln.Device;
import dev.kiln.testkit.TestDevice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs the ONNX node-test suite on every device under test ({@link TestDevice}): one dynamic test per ONNX test, grouped by backend and
 * op, and a table of passed / failed / excluded per op and backend printed at the end.
 */
class OnnxConformanceTest {
    private enum Result { PASSED, FAILED, EXCLUDED }

    /** backend -> op -> counts indexed by Result. */
    private static final Map<String, Map<String, int[]>> TALLY = new ConcurrentHashMap<>();

    @TestFactory
    List<DynamicNode> onnxNodeTests() {
        Path folder = OnnxSuite.folder();
        List<OnnxSuite.Case> cases = OnnxSuite.cases(folder);
        if (cases.isEmpty()) throw new AssertionError("no ONNX tests found in " + folder);
        List<DynamicNode> perBackend = new ArrayList<>();
        for (TestDevice device : TestDevice.underTest()) {
            if (device.backend() == null) {
                perBackend.add(DynamicTest.dynamicTest(device.name() + " (absent)", device::activate));
                continue;
            }
            Map<String, List<DynamicNode>> perOp = new TreeMap<>();
            for (OnnxSuite.Case c : cases)
                perOp.computeIfAbsent(c.node().op(), k -> new ArrayList<>()).add(test(c, device));
            List<DynamicNode> ops = new ArrayList<>();
            perOp.forEach((op, tests) -> ops.add(DynamicContainer.dynamicContainer(op, tests)));
            perBackend.add(DynamicContainer.dynamicContainer(device + " (" + folder + ")", ops));
        }
        return perBackend;
    }

    private static DynamicTest test(OnnxSuite.Case c, TestDevice testDevice) {
        return DynamicTest.dynamicTest(c.name(), () -> {
            Device device = testDevice.device();
            String reason = OnnxExclusions.REASONS.get(c.name());
            if (reason != null) {
                count(device, c, Result.EXCLUDED);
                Assumptions.abort("excluded: " + reason);
            }
            try {
                OnnxSuite.run(c, device);
                count(device, c, Result.PASSED);
            } catch (org.opentest4j.TestAbortedException notHere) {
                // the device lacks what the test needs (float64): not run, so counted with the excluded
                count(device, c, Result.EXCLUDED);
                throw notHere;
            } catch (Throwable t) {
                count(device, c, Result.FAILED);
                throw t;
            }
        });
    }

    private static void count(Device device, OnnxSuite.Case c, Result r) {
        TALLY.computeIfAbsent(device.toString(), k -> new ConcurrentHashMap<>())
                .computeIfAbsent(c.node().op(), k -> new int[Result.values().length])[r.ordinal()]++;
    }

    @AfterAll
    static void printSummary() {
        StringBuilder sb = new StringBuilder("\nONNX node conformance (" + OnnxSuite.folder() + ")\n");
        if (TALLY.isEmpty()) sb.append("no device under test was available: nothing ran\n");
        new TreeMap<>(TALLY).forEach((backend, ops) -> {
            int[] total = new int[Result.values().length];
            sb.append(String.format("%n%-28s %7s %7s %9s%n", "backend " + backend + " / op", "passed", "failed", "excluded"));
            new TreeMap<>(ops).forEach((op, n) -> {
                sb.append(String.format("%-28s %7d %7d %9d%n", op, n[0], n[1], n[2]));
                for (int i = 0; i < total.length; i++) total[i] += n[i];
            });
            sb.append(String.format("%-28s %7d %7d %9d%n", "TOTAL " + backend, total[0], total[1], total[2]));
        });
        System.out.println(sb);
    }
}
