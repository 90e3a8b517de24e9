package dev.kiln.onnx;

import java.util.List;

/**
 * One node attribute: its ONNX type in lower case ({@code int}, {@code ints}, {@code float}, {@code floats},
 * {@code string}, {@code strings}, {@code tensor}, {@code graph}) and its values: {@code Long}, {@code Float},
 * {@code String}, a {@link dev.kiln.onnx.proto.Onnx.TensorProto} or a {@link dev.kiln.onnx.proto.Onnx.GraphProto};
 * one value for the scalar types.
 */
record OnnxAttribute(String name, String type, List<Object> values) {
    boolean isList() { return type.endsWith("s"); }
}
