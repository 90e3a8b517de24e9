package dev.kiln.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Tensor;

import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * ONNX Runtime (its Java API) as the reference the model tests compare with, and the host tensors both sides are
 * fed: float32, int32, int64 or bool values with a shape.
 */
final class ReferenceRuntime implements AutoCloseable {
    /** Host values: {@code data} is a float[], int[], long[] or boolean[]. */
    record Host(Object data, long[] shape) {
        static Host floats(float[] v, long... shape) { return new Host(v, shape); }

        static Host longs(long[] v, long... shape) { return new Host(v, shape); }

        int[] intShape() { return Arrays.stream(shape).mapToInt(Math::toIntExact).toArray(); }

        Tensor toTensor(Device device) {
            int[] s = intShape();
            Tensor host = switch (data) {
                case float[] f -> Tensor.of(f, s.length == 0 ? new int[] {1} : s);
                case long[] l -> Tensor.of(l, s.length == 0 ? new int[] {1} : s);
                case int[] i -> Tensor.of(i, s.length == 0 ? new int[] {1} : s);
                case boolean[] b -> Tensor.of(b, s.length == 0 ? new int[] {1} : s);
                default -> throw new IllegalArgumentException("unknown host data " + data.getClass());
            };
            if (s.length == 0) host = host.reshape();
            return host.device().equals(device) ? host : host.to(device);
        }

        double[] doubles() {
            return switch (data) {
                case float[] f -> {
                    double[] d = new double[f.length];
                    for (int i = 0; i < f.length; i++) d[i] = f[i];
                    yield d;
                }
                case long[] l -> Arrays.stream(l).asDoubleStream().toArray();
                case int[] i -> Arrays.stream(i).asDoubleStream().toArray();
                case boolean[] b -> {
                    double[] d = new double[b.length];
                    for (int i = 0; i < b.length; i++) d[i] = b[i] ? 1 : 0;
                    yield d;
                }
                default -> throw new IllegalArgumentException("unknown host data " + data.getClass());
            };
        }

        static Host of(Tensor t) {
            long[] shape = Arrays.stream(t.shape()).asLongStream().toArray();
            return switch (t.dtype()) {
                case FLOAT32 -> new Host(t.toFloatArray(), shape);
                case INT64 -> new Host(t.toLongArray(), shape);
                case INT32 -> new Host(t.toIntArray(), shape);
                case BOOL -> new Host(t.toBooleanArray(), shape);
                default -> throw new IllegalArgumentException("no host form for " + t.dtype());
            };
        }
    }

    private final OrtEnvironment env = OrtEnvironment.getEnvironment();
    private final OrtSession session;

    ReferenceRuntime(byte[] model) throws OrtException {
        session = env.createSession(model, asWritten());
    }

    /** From a file, for models whose external data lies beside them. */
    ReferenceRuntime(java.nio.file.Path model) throws OrtException {
        session = env.createSession(model.toString(), asWritten());
    }

    /**
     * Graph optimisations off: ONNX Runtime then computes the graph as written, not with the batch norms folded into
     * the convolutions and other fusions whose float32 rounding differs from the graph's own.
     */
    private static OrtSession.SessionOptions asWritten() throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.NO_OPT);
        return options;
    }

    /** The model's outputs by name for {@code inputs}. */
    Map<String, Host> run(Map<String, Host> inputs) throws OrtException {
        Map<String, OnnxTensor> feed = new LinkedHashMap<>();
        try {
            for (var e : inputs.entrySet()) feed.put(e.getKey(), tensor(e.getValue()));
            Map<String, Host> out = new LinkedHashMap<>();
            try (OrtSession.Result result = session.run(feed)) {
                for (Map.Entry<String, OnnxValue> e : result) out.put(e.getKey(), host((OnnxTensor) e.getValue()));
            }
            return out;
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    private OnnxTensor tensor(Host h) throws OrtException {
        return switch (h.data()) {
            case float[] f -> OnnxTensor.createTensor(env, FloatBuffer.wrap(f), h.shape());
            case long[] l -> OnnxTensor.createTensor(env, LongBuffer.wrap(l), h.shape());
            case int[] i -> OnnxTensor.createTensor(env, IntBuffer.wrap(i), h.shape());
            case boolean[] b -> {
                java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocateDirect(b.length);
                for (boolean v : b) bytes.put((byte) (v ? 1 : 0));
                yield OnnxTensor.createTensor(env, bytes.flip(), h.shape(), ai.onnxruntime.OnnxJavaType.BOOL);
            }
            default -> throw new IllegalArgumentException("unknown host data " + h.data().getClass());
        };
    }

    private static Host host(OnnxTensor t) {
        long[] shape = t.getInfo().getShape();
        return switch (t.getInfo().type) {
            case FLOAT -> {
                FloatBuffer b = t.getFloatBuffer();
                float[] a = new float[b.remaining()];
                b.get(a);
                yield new Host(a, shape);
            }
            case INT64 -> {
                LongBuffer b = t.getLongBuffer();
                long[] a = new long[b.remaining()];
                b.get(a);
                yield new Host(a, shape);
            }
            case INT32 -> {
                IntBuffer b = t.getIntBuffer();
                int[] a = new int[b.remaining()];
                b.get(a);
                yield new Host(a, shape);
            }
            case BOOL -> {
                java.nio.ByteBuffer b = t.getByteBuffer();
                boolean[] a = new boolean[b.remaining()];
                for (int i = 0; i < a.length; i++) a[i] = b.get(i) != 0;
                yield new Host(a, shape);
            }
            default -> throw new IllegalArgumentException("reference output of type " + t.getInfo().type + " is not compared");
        };
    }

    @Override
    public void close() throws OrtException { session.close(); }

    /** Kiln's dtype for a host value, to check outputs agree in type as well. */
    static DType dtype(Host h) {
        return switch (h.data()) {
            case float[] f -> DType.FLOAT32;
            case long[] l -> DType.INT64;
            case int[] i -> DType.INT32;
            case boolean[] b -> DType.BOOL;
            default -> throw new IllegalArgumentException("unknown host data");
        };
    }
}
