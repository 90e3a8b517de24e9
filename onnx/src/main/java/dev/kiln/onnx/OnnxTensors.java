package dev.kiln.onnx;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Tensor;
import dev.kiln.onnx.proto.Onnx;
import dev.kiln.onnx.proto.Onnx.TensorProto.DataType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * ONNX tensors ({@code TensorProto}: initializers, Constant values) as Kiln tensors. Values come from
 * {@code raw_data} (little-endian), the typed fields, or an external data file beside the model. Kiln has no 8- or
 * 16-bit integer dtypes: such tensors load widened to int32, with their values unchanged.
 */
final class OnnxTensors {
    private OnnxTensors() {}

    /** The Kiln dtype an ONNX element type loads as, or an exception naming {@code what} when Kiln has none. */
    static DType dtype(int onnxType, String what) {
        return switch (DataType.forNumber(onnxType) == null ? DataType.UNDEFINED : DataType.forNumber(onnxType)) {
            case FLOAT -> DType.FLOAT32;
            case DOUBLE -> DType.FLOAT64;
            case FLOAT16 -> DType.FLOAT16;
            case BFLOAT16 -> DType.BFLOAT16;
            case INT64 -> DType.INT64;
            case INT32, INT16, UINT16, INT8, UINT8 -> DType.INT32;
            case BOOL -> DType.BOOL;
            default -> throw new IllegalArgumentException(what + ": ONNX element type " + typeName(onnxType) + " has no Kiln dtype");
        };
    }

    static String typeName(int onnxType) {
        DataType t = DataType.forNumber(onnxType);
        return t == null ? "#" + onnxType : t.name();
    }

    static int[] shape(Onnx.TensorProto t) {
        int[] shape = new int[t.getDimsCount()];
        for (int i = 0; i < shape.length; i++) {
            long d = t.getDims(i);
            if (d < 0 || d > Integer.MAX_VALUE) throw new IllegalArgumentException("tensor '" + t.getName() + "': bad dimension " + d);
            shape[i] = (int) d;
        }
        return shape;
    }

    /**
     * The tensor's values on {@code device}. {@code modelDir} is where external data files are looked up (null
     * when the tensor cannot have any).
     *
     * @throws IllegalArgumentException naming the tensor when its data is missing, short or of an unknown type
     */
    static Tensor toTensor(Onnx.TensorProto t, Path modelDir, Device device) {
        String what = "tensor '" + t.getName() + "'";
        int[] shape = shape(t);
        long count = 1;
        for (int d : shape) count = Math.multiplyExact(count, d);
        if (count > Integer.MAX_VALUE) throw new IllegalArgumentException(what + ": " + count + " elements is too many");
        int n = (int) count;
        int type = t.getDataType();
        DType dtype = dtype(type, what);
        ByteBuffer raw = rawBytes(t, modelDir, what);
        int width = elementBytes(type);
        if (raw != null && raw.remaining() != (long) n * width)
            throw new IllegalArgumentException(what + ": " + raw.remaining() + " bytes of data, but " + typeName(type) + " "
                    + Arrays.toString(shape) + " needs " + (long) n * width);
        Tensor host = switch (DataType.forNumber(type)) {
            case FLOAT -> Tensor.of(raw != null ? floats(raw, n) : checked(t.getFloatDataList().size(), n, what, floatArray(t)), shape);
            case DOUBLE -> {
                double[] a = new double[n];
                if (raw != null) raw.asDoubleBuffer().get(a);
                else a = checked(t.getDoubleDataCount(), n, what, t.getDoubleDataList().stream().mapToDouble(Double::doubleValue).toArray());
                yield Tensor.of(a, shape);
            }
            case INT64 -> {
                long[] a = new long[n];
                if (raw != null) raw.asLongBuffer().get(a);
                else a = checked(t.getInt64DataCount(), n, what, t.getInt64DataList().stream().mapToLong(Long::longValue).toArray());
                yield Tensor.of(a, shape);
            }
            case BOOL -> {
                int[] v = smallInts(t, raw, n, type, what);
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) a[i] = v[i] != 0;
                yield Tensor.of(a, shape);
            }
            case FLOAT16, BFLOAT16 -> {
                int[] bits = smallInts(t, raw, n, type, what);
                float[] a = new float[n];
                for (int i = 0; i < n; i++)
                    a[i] = type == DataType.FLOAT16_VALUE ? Float.float16ToFloat((short) bits[i]) : Float.intBitsToFloat(bits[i] << 16);
                try (Tensor f = Tensor.of(a, shape)) {
                    yield f.to(dtype);
                }
            }
            default -> Tensor.of(smallInts(t, raw, n, type, what), shape);
        };
        if (shape.length == 0) {
            // Tensor.of reads an empty shape as 1-D; a rank-0 ONNX tensor is a scalar.
            try (Tensor flat = host) {
                host = flat.reshape();
            }
        }
        if (host.device().equals(device)) return host;
        try (Tensor onHost = host) {
            return onHost.to(device);
        }
    }

    private static float[] floatArray(Onnx.TensorProto t) {
        float[] a = new float[t.getFloatDataCount()];
        for (int i = 0; i < a.length; i++) a[i] = t.getFloatData(i);
        return a;
    }

    private static float[] floats(ByteBuffer raw, int n) {
        float[] a = new float[n];
        raw.asFloatBuffer().get(a);
        return a;
    }

    private static <A> A checked(int have, int need, String what, A values) {
        if (have != need) throw new IllegalArgumentException(what + ": " + have + " values stored, its shape needs " + need);
        return values;
    }

    /** Elements of at most 32 bits (int32, the narrow integers, bool, 16-bit float bit patterns) as ints. */
    private static int[] smallInts(Onnx.TensorProto t, ByteBuffer raw, int n, int type, String what) {
        int[] a = new int[n];
        if (raw == null) {
            checked(t.getInt32DataCount(), n, what, a);
            for (int i = 0; i < n; i++) a[i] = t.getInt32Data(i);
            return a;
        }
        for (int i = 0; i < n; i++) {
            a[i] = switch (DataType.forNumber(type)) {
                case INT32 -> raw.getInt(i * 4);
                case INT16 -> raw.getShort(i * 2);
                case UINT16, FLOAT16, BFLOAT16 -> Short.toUnsignedInt(raw.getShort(i * 2));
                case INT8 -> raw.get(i);
                case UINT8, BOOL -> Byte.toUnsignedInt(raw.get(i));
                default -> throw new IllegalStateException("unreachable: " + typeName(type));
            };
        }
        return a;
    }

    private static int elementBytes(int type) {
        return switch (DataType.forNumber(type)) {
            case DOUBLE, INT64 -> 8;
            case FLOAT, INT32 -> 4;
            case FLOAT16, BFLOAT16, INT16, UINT16 -> 2;
            default -> 1;
        };
    }

    /** The little-endian bytes of raw_data or of the external file, or null when the typed fields hold the values. */
    private static ByteBuffer rawBytes(Onnx.TensorProto t, Path modelDir, String what) {
        if (t.getDataLocation() == Onnx.TensorProto.DataLocation.EXTERNAL) return external(t, modelDir, what);
        if (!t.hasRawData()) return null;
        return t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer external(Onnx.TensorProto t, Path modelDir, String what) {
        String location = null;
        long offset = 0, length = -1;
        for (Onnx.StringStringEntryProto e : t.getExternalDataList()) {
            switch (e.getKey()) {
                case "location" -> location = e.getValue();
                case "offset" -> offset = Long.parseLong(e.getValue());
                case "length" -> length = Long.parseLong(e.getValue());
                default -> { } // checksum and other keys carry nothing the values need
            }
        }
        if (location == null) throw new IllegalArgumentException(what + ": external data without a location");
        if (modelDir == null) throw new IllegalArgumentException(what + ": external data '" + location + "' outside a model file");
        Path file = modelDir.resolve(location).normalize();
        if (!file.startsWith(modelDir.normalize()))
            throw new IllegalArgumentException(what + ": external data location '" + location + "' leaves the model's folder");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (length < 0) length = size - offset;
            if (offset < 0 || offset + length > size)
                throw new IllegalArgumentException(what + ": external data " + file + " holds " + size + " bytes, the tensor reads "
                        + length + " from offset " + offset);
            if (length > Integer.MAX_VALUE) throw new IllegalArgumentException(what + ": external data of " + length + " bytes is too large");
            ByteBuffer buf = ByteBuffer.allocate((int) length);
            while (buf.hasRemaining()) {
                if (ch.read(buf, offset + buf.position()) < 0) break;
            }
            return buf.flip().order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw new UncheckedIOException(what + ": cannot read external data " + file, e);
        }
    }
}
