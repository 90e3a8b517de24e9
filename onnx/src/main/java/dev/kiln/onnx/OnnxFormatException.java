package dev.kiln.onnx;

import java.io.IOException;

/** A file that is not a readable ONNX model: truncated or malformed protobuf, or a model missing what ONNX requires. */
public final class OnnxFormatException extends IOException {
    /**
     * An exception with the message given.
     *
     * @param message what is wrong, naming the file
     * @param cause the parser's exception, or null
     */
    public OnnxFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
