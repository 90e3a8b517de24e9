package dev.kiln.onnx;

import dev.kiln.Device;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A folder of ONNX node tests in the suite format (README.txt in the folder): by default the copy in this kit's
 * test resources, or any folder named by the system property {@value #DIR_PROPERTY}.
 */
final class OnnxSuite {
    static final String DIR_PROPERTY = "kiln.conformance.dir";
    private static final String RESOURCE = "/onnx-node/README.txt";

    private OnnxSuite() {}

    /** One test folder and the op its node.txt names. */
    record Case(String name, Path dir, NodeTestFile node) {}

    static Path folder() {
        String configured = System.getProperty(DIR_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            Path p = Path.of(configured);
            if (!Files.isDirectory(p)) throw new IllegalStateException(DIR_PROPERTY + "=" + configured + " is not a directory");
            return p;
        }
        URL readme = OnnxSuite.class.getResource(RESOURCE);
        if (readme == null) throw new IllegalStateException("the ONNX suite resource " + RESOURCE + " is not on the test class path");
        try {
            URI uri = readme.toURI();
            // Run from the kit's test-jar, the resource lives inside a jar: open it as a file system.
            if (uri.getScheme().equals("jar")) {
                try {
                    FileSystems.newFileSystem(uri, Map.of());
                } catch (FileSystemAlreadyExistsException alreadyOpen) {
                    // another test class opened it first; Path.of finds it
                }
            }
            return Path.of(uri).getParent();
        } catch (URISyntaxException | IOException e) {
            throw new IllegalStateException("cannot open the ONNX suite at " + readme, e);
        }
    }

    /** Every test folder (a directory holding node.txt), by name. */
    static List<Case> cases(Path folder) {
        List<Case> out = new ArrayList<>();
        try (Stream<Path> entries = Files.list(folder)) {
            for (Path dir : entries.sorted().toList()) {
                Path nodeFile = dir.resolve("node.txt");
                if (Files.isDirectory(dir) && Files.exists(nodeFile))
                    out.add(new Case(dir.getFileName().toString().replace("/", ""), dir, NodeTestFile.read(nodeFile)));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the ONNX suite at " + folder, e);
        }
        return out;
    }

    /**
     * Runs one test on {@code device}: loads its inputs there, runs the op's mapping and compares each listed output.
     *
     * @throws AssertionError naming the test, the output and the mismatch when a result is wrong
     */
    static void run(Case c, Device device) throws IOException {
        NodeTestFile node = c.node();
        OnnxOps.Mapping mapping = OnnxOps.find(OnnxModel.DEFAULT_DOMAIN, node.op());
        if (mapping == null) throw new AssertionError(c.name() + ": no Kiln mapping for ONNX op " + node.op());
        // A test with a float64 result (a Cast to double, a float64 op) needs a device that computes in float64;
        // float64 inputs ask for it as they are read.
        for (String output : node.outputs().values())
            if (OnnxTensorFile.read(c.dir().resolve(output + ".tensor")).dtype() == dev.kiln.DType.FLOAT64) dev.kiln.testkit.TestDevice.requireFloat64();
        try (Scope scope = Scope.open()) {
            int slots = node.inputs().isEmpty() ? 0 : node.inputs().lastKey() + 1;
            Tensor[] inputs = new Tensor[slots];
            for (var e : node.inputs().entrySet())
                inputs[e.getKey()] = OnnxTensorFile.read(c.dir().resolve(e.getValue() + ".tensor")).toTensor(device);
            OnnxCall call = new OnnxCall(node.node(c.name()), inputs, null);
            Tensor[] results = mapping.run(call);
            if (!call.unreadAttributes().isEmpty())
                throw new AssertionError(c.name() + ": the " + node.op() + " mapping ignores attributes " + call.unreadAttributes());
            List<String> problems = new ArrayList<>();
            for (var e : node.outputs().entrySet()) {
                int i = e.getKey();
                Tensor actual = i < results.length ? results[i] : null;
                if (actual != null && !actual.device().equals(device))
                    problems.add("output '" + e.getValue() + "' is on " + actual.device() + ", not " + device);
                OnnxTensorFile expected = OnnxTensorFile.read(c.dir().resolve(e.getValue() + ".tensor"));
                String m = OnnxComparison.mismatch(e.getValue(), actual, expected);
                if (m != null) problems.add(m);
            }
            if (!problems.isEmpty()) throw new AssertionError(c.name() + " (" + node.op() + ", opset " + node.opset() + ") on " + device + ": " + String.join("; ", problems));
        }
    }
}
