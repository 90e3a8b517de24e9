package dev.kiln.onnx;

import java.util.List;
import java.util.Map;

/**
 * One node as the op map sees it: op type and domain, the opset the model imports for that domain, input and output
 * value names by position (an empty name is an omitted optional input or unrequested output), and attributes by
 * name (absent ones take the ONNX default, which the op mapping supplies).
 */
record OnnxNode(String name, String domain, String op, int opset, List<String> inputs, List<String> outputs,
                Map<String, OnnxAttribute> attributes) {

    /** The node as error messages name it: op, domain, opset and the node's name or position. */
    String describe() {
        return op + " (domain '" + (domain.isEmpty() ? "ai.onnx" : domain) + "', opset " + opset + ") at node '" + name + "'";
    }
}
