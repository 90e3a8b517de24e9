package dev.kiln.onnx;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A test's {@code node.txt}: the op, the opset, the present inputs and requested outputs by position, and the
 * attributes as written (absent ones take the ONNX default, which the op mapping supplies).
 */
record NodeTestFile(String op, int opset, SortedMap<Integer, String> inputs, SortedMap<Integer, String> outputs,
                    Map<String, OnnxAttribute> attributes) {

    /** The node as the op map reads it: values named by the test's tensor files, omitted positions empty. */
    OnnxNode node(String testName) {
        return new OnnxNode(testName, OnnxModel.DEFAULT_DOMAIN, op, opset, positional(inputs), positional(outputs), attributes);
    }

    private static List<String> positional(SortedMap<Integer, String> byPosition) {
        List<String> out = new ArrayList<>();
        if (byPosition.isEmpty()) return out;
        for (int i = 0; i <= byPosition.lastKey(); i++) out.add(byPosition.getOrDefault(i, ""));
        return out;
    }

    static NodeTestFile read(Path file) throws IOException {
        String op = null;
        int opset = -1;
        SortedMap<Integer, String> inputs = new TreeMap<>(), outputs = new TreeMap<>();
        Map<String, OnnxAttribute> attributes = new LinkedHashMap<>();
        int lineNo = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
            lineNo++;
            if (line.isEmpty()) continue;
            List<String> tokens = tokenize(line, file, lineNo);
            String where = file + ":" + lineNo;
            switch (tokens.getFirst()) {
                case "op" -> op = tokens.get(1);
                case "opset" -> opset = Integer.parseInt(tokens.get(1));
                case "input" -> inputs.put(Integer.parseInt(tokens.get(1)), tokens.get(2));
                case "output" -> outputs.put(Integer.parseInt(tokens.get(1)), tokens.get(2));
                case "attr" -> {
                    String name = tokens.get(1), type = tokens.get(2);
                    List<String> raw = tokens.subList(3, tokens.size());
                    List<Object> values = new ArrayList<>();
                    for (String v : raw) values.add(parseValue(type, v, where));
                    if (!type.endsWith("s") && values.size() != 1)
                        throw new IOException(where + ": attribute " + name + " of type " + type + " needs one value, got " + raw.size());
                    attributes.put(name, new OnnxAttribute(name, type, List.copyOf(values)));
                }
                default -> throw new IOException(where + ": unknown record '" + tokens.getFirst() + "'");
            }
        }
        if (op == null || opset < 0) throw new IOException(file + ": missing op or opset line");
        return new NodeTestFile(op, opset, inputs, outputs, attributes);
    }

    private static Object parseValue(String type, String v, String where) throws IOException {
        return switch (type) {
            case "int", "ints" -> Long.parseLong(v);
            case "float", "floats" -> Float.parseFloat(v);
            case "string", "strings" -> v;
            default -> throw new IOException(where + ": unknown attribute type " + type);
        };
    }

    /** Splits on single spaces, keeping a quoted string (with escapes decoded) as one token. */
    private static List<String> tokenize(String line, Path file, int lineNo) throws IOException {
        List<String> out = new ArrayList<>();
        int i = 0;
        while (i < line.length()) {
            if (line.charAt(i) == ' ') {
                i++;
            } else if (line.charAt(i) == '"') {
                ByteArrayOutputStream utf8 = new ByteArrayOutputStream();
                i++;
                while (true) {
                    if (i >= line.length()) throw new IOException(file + ":" + lineNo + ": unterminated string");
                    char c = line.charAt(i);
                    if (c == '"') break;
                    if (c == '\\') {
                        char e = line.charAt(i + 1);
                        if (e == 'x') {
                            utf8.write(Integer.parseInt(line.substring(i + 2, i + 4), 16));
                            i += 4;
                        } else {
                            utf8.write(e);
                            i += 2;
                        }
                    } else {
                        utf8.write(c);
                        i++;
                    }
                }
                out.add(utf8.toString(StandardCharsets.UTF_8));
                i++;
            } else {
                int end = line.indexOf(' ', i);
                if (end < 0) end = line.length();
                out.add(line.substring(i, end));
                i = end;
            }
        }
        return out;
    }
}
