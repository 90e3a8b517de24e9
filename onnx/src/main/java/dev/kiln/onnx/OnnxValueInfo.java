package dev.kiln.onnx;

import java.util.List;

/**
 * A graph input or output as the model declares it.
 *
 * @param name the value's name in the graph
 * @param elementType the ONNX element type's name ({@code FLOAT}, {@code INT64}, ...), or {@code UNDEFINED}
 * @param dims each dimension: a size as a decimal string, a symbolic name ({@code batch}), or {@code ?} when the
 *             model leaves it unnamed; null when the model gives no shape at all
 */
public record OnnxValueInfo(String name, String elementType, List<String> dims) {
    /**
     * The value as {@code name: TYPE [d0, d1, ...]}.
     *
     * @return the description
     */
    @Override
    public String toString() { return name + ": " + elementType + " " + (dims == null ? "(no shape)" : dims); }
}
