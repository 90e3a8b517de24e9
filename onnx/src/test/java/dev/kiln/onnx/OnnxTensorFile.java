package dev.kiln.onnx;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One {@code <name>.tensor} file of the suite (format: the suite's README.txt): an ASCII header line
 * {@code dtype <type> shape <dims...>} and a little-endian row-major payload, held as raw bytes.
 */
record OnnxTensorFile(String name, DType dtype, int[] shape, ByteBuffer payload) {

    static OnnxTensorFile read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int eol = 0;
        while (eol < bytes.length && bytes[eol] != '\n') eol++;
        if (eol == bytes.length) throw new IOException(file + ": no header line");
        String[] header = new String(bytes, 0, eol, StandardCharsets.US_ASCII).split(" ");
        if (header.length < 3 || !header[0].equals("dtype") || !header[2].equals("shape"))
            throw new IOException(file + ": bad header '" + String.join(" ", header) + "'");
        DType dtype = switch (header[1]) {
            case "float32" -> DType.FLOAT32;
            case "float64" -> DType.FLOAT64;
            case "int64" -> DType.INT64;
            case "int32" -> DType.INT32;
            case "bool" -> DType.BOOL;
            default -> throw new IOException(file + ": unknown dtype " + header[1]);
        };
        int[] shape = new int[header.length - 3];
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = Integer.parseInt(header[3 + i]);
            n *= shape[i];
        }
        long expected = eol + 1 + n * dtype.byteSize();
        if (bytes.length != expected)
            throw new IOException(file + ": " + bytes.length + " bytes, expected " + expected + " for " + header[1] + " " + Arrays.toString(shape));
        ByteBuffer payload = ByteBuffer.wrap(bytes, eol + 1, bytes.length - eol - 1).slice().order(ByteOrder.LITTLE_ENDIAN);
        String fileName = file.getFileName().toString();
        return new OnnxTensorFile(fileName.substring(0, fileName.length() - ".tensor".length()), dtype, shape, payload);
    }

    int numel() {
        int n = 1;
        for (int d : shape) n *= d;
        return n;
    }

    /** The values widened to double (exact for every float32, float64, int32 and every int64 below 2^53). */
    double[] toDoubles() {
        double[] out = new double[numel()];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (dtype) {
                case FLOAT32 -> payload.getFloat(i * 4);
                case FLOAT64 -> payload.getDouble(i * 8);
                case INT64 -> payload.getLong(i * 8);
                case INT32 -> payload.getInt(i * 4);
                case BOOL -> payload.get(i);
                default -> throw new IllegalStateException("unreachable: " + dtype);
            };
        }
        return out;
    }

    /** A Kiln tensor with this file's dtype, shape and values, on {@code device}. */
    Tensor toTensor(Device device) {
        int n = numel();
        Tensor host = switch (dtype) {
            case FLOAT32 -> {
                float[] a = new float[n];
                payload.asFloatBuffer().get(a);
                yield Tensor.of(a, shape);
            }
            case FLOAT64 -> {
                dev.kiln.testkit.TestDevice.requireFloat64();
                double[] a = new double[n];
                payload.asDoubleBuffer().get(a);
                yield Tensor.of(a, shape);
            }
            case INT64 -> {
                long[] a = new long[n];
                payload.asLongBuffer().get(a);
                yield Tensor.of(a, shape);
            }
            case INT32 -> {
                int[] a = new int[n];
                payload.asIntBuffer().get(a);
                yield Tensor.of(a, shape);
            }
            case BOOL -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) a[i] = payload.get(i) != 0;
                yield Tensor.of(a, shape);
            }
            default -> throw new IllegalStateException("unreachable: " + dtype);
        };
        if (shape.length == 0) {
            // Tensor.of reads an empty shape as "1-D"; a rank-0 file is a scalar.
            try (Tensor flat = host) {
                host = flat.reshape();
            }
        }
        if (host.device().equals(device)) return host;
        try (Tensor onDefault = host) {
            return onDefault.to(device);
        }
    }
}
