package dev.kiln.onnx;

import java.util.Map;

/**
 * Tests the runner does not run, each with the reason written out. The expected number is zero: a test belongs
 * here only while Kiln genuinely cannot express it, never to hide a wrong result.
 */
final class OnnxExclusions {
    private OnnxExclusions() {}

    /** Test folder name to the reason it is excluded. */
    static final Map<String, String> REASONS = Map.of();
}
