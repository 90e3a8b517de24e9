package dev.kiln.nn.io;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy's {@code .npy} files (format versions 1 to 3), one tensor each: float32, float64, float16, int32, int64
 * and bool read and write as themselves; int8, uint8, int16 and uint16 read widened to int32, as Kiln has no narrower
 * integers. Fortran-ordered and big-endian arrays are read too. Files are written in version 1.0, little-endian, C
 * order, as {@code numpy.save} writes them.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=])([a-z])(\\d+)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npy() {}

    /**
     * Reads one array onto a device.
     *
     * @param file the {@code .npy} file
     * @param device where the tensor goes
     * @return the tensor, which the caller closes
     * @throws IOException if the file cannot be read or is not a {@code .npy} file of a supported type (the
     *                     message says which)
     */
    public static Tensor read(Path file, Device device) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer in = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 10 || !java.util.Arrays.equals(bytes, 0, 6, MAGIC, 0, 6)) throw new IOException(file + ": not a .npy file (no \\x93NUMPY magic)");
        int major = bytes[6];
        int headerLength = major == 1 ? Short.toUnsignedInt(in.getShort(8)) : in.getInt(8);
        int headerStart = major == 1 ? 10 : 12;
        if (major < 1 || major > 3 || headerLength < 0 || headerStart + headerLength > bytes.length)
            throw new IOException(file + ": bad .npy header (version " + major + ", header length " + headerLength + ")");
        String header = new String(bytes, headerStart, headerLength, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher descr = DESCR.matcher(header), fortran = FORTRAN.matcher(header), shapeMatch = SHAPE.matcher(header);
        if (!descr.find() || !fortran.find() || !shapeMatch.find()) throw new IOException(file + ": .npy header without descr, fortran_order and shape: " + header.strip());
        int[] shape = parseShape(shapeMatch.group(1), file);
        ByteOrder order = descr.group(1).equals(">") ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
        String kind = descr.group(2);
        int width = Integer.parseInt(descr.group(3));
        long count = 1;
        for (int d : shape) count = Math.multiplyExact(count, d);
        ByteBuffer data = ByteBuffer.wrap(bytes, headerStart + headerLength, bytes.length - headerStart - headerLength).slice().order(order);
        if (data.remaining() < count * width)
            throw new IOException(file + ": " + data.remaining() + " bytes of data, shape " + java.util.Arrays.toString(shape) + " of " + kind + width + " needs " + count * width);
        int n = Math.toIntExact(count);
        boolean fortranOrder = fortran.group(1).equals("True");
        int[] stored = fortranOrder ? reversed(shape) : shape;
        Tensor host = switch (kind + width) {
            case "f4" -> Tensor.of(floats(data, n), flatShape(stored));
            case "f8" -> {
                double[] a = new double[n];
                data.asDoubleBuffer().get(a);
                yield Tensor.of(a, flatShape(stored));
            }
            case "f2" -> {
                float[] a = new float[n];
                for (int i = 0; i < n; i++) a[i] = Float.float16ToFloat(data.getShort(2 * i));
                try (Tensor f = Tensor.of(a, flatShape(stored))) {
                    yield f.to(DType.FLOAT16);
                }
            }
            case "i8" -> {
                long[] a = new long[n];
                data.asLongBuffer().get(a);
                yield Tensor.of(a, flatShape(stored));
            }
            case "b1" -> {
                boolean[] a = new boolean[n];
                for (int i = 0; i < n; i++) a[i] = data.get(i) != 0;
                yield Tensor.of(a, flatShape(stored));
            }
            case "i4", "i2", "u2", "i1", "u1" -> {
                int[] a = new int[n];
                for (int i = 0; i < n; i++) {
                    a[i] = switch (kind + width) {
                        case "i4" -> data.getInt(4 * i);
                        case "i2" -> data.getShort(2 * i);
                        case "u2" -> Short.toUnsignedInt(data.getShort(2 * i));
                        case "i1" -> data.get(i);
                        default -> Byte.toUnsignedInt(data.get(i));
                    };
                }
                yield Tensor.of(a, flatShape(stored));
            }
            default -> throw new IOException(file + ": .npy dtype '" + descr.group(1) + kind + width + "' is not supported");
        };
        if (shape.length == 0) host = host.reshape();
        else if (fortranOrder && shape.length > 1) host = host.permute(reversedAxes(shape.length)).contiguous();
        return host.device().equals(device) ? host : host.to(device);
    }

    /**
     * Writes one tensor as a version 1.0 {@code .npy} file.
     *
     * @param file the file to write
     * @param tensor the tensor (any device; read back to the host)
     * @throws IOException if the file cannot be written
     * @throws IllegalArgumentException if the tensor's dtype has no {@code .npy} form here (bfloat16)
     */
    public static void write(Path file, Tensor tensor) throws IOException {
        String descr = switch (tensor.dtype()) {
            case FLOAT32 -> "<f4";
            case FLOAT64 -> "<f8";
            case FLOAT16 -> "<f2";
            case INT32 -> "<i4";
            case INT64 -> "<i8";
            case BOOL -> "|b1";
            default -> throw new IllegalArgumentException("npy: no .npy dtype for " + tensor.dtype());
        };
        StringBuilder shape = new StringBuilder();
        for (int d : tensor.shape()) shape.append(d).append(", ");
        String dims = tensor.dim() == 1 ? shape.toString().strip() : shape.length() == 0 ? "" : shape.substring(0, shape.length() - 2);
        StringBuilder header = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }");
        // numpy pads the header with spaces and a newline so the data starts at a multiple of 64 bytes.
        while ((10 + header.length() + 1) % 64 != 0) header.append(' ');
        header.append('\n');
        int n = Math.toIntExact(tensor.numel());
        ByteBuffer data = ByteBuffer.allocate(n * (int) tensor.dtype().byteSize()).order(ByteOrder.LITTLE_ENDIAN);
        switch (tensor.dtype()) {
            case FLOAT32 -> data.asFloatBuffer().put(tensor.toFloatArray());
            case FLOAT64 -> data.asDoubleBuffer().put(tensor.toDoubleArray());
            case FLOAT16 -> {
                for (float v : tensor.toFloatArray()) data.putShort(Float.floatToFloat16(v));
            }
            case INT32 -> data.asIntBuffer().put(tensor.toIntArray());
            case INT64 -> data.asLongBuffer().put(tensor.toLongArray());
            default -> {
                for (boolean b : tensor.toBooleanArray()) data.put((byte) (b ? 1 : 0));
            }
        }
        ByteBuffer out = ByteBuffer.allocate(10 + header.length() + data.capacity()).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length()).put(header.toString().getBytes(StandardCharsets.ISO_8859_1)).put(data.array());
        Files.write(file, out.array());
    }

    private static float[] floats(ByteBuffer data, int n) {
        float[] a = new float[n];
        data.asFloatBuffer().get(a);
        return a;
    }

    private static int[] parseShape(String dims, Path file) throws IOException {
        List<Integer> out = new ArrayList<>();
        for (String d : dims.split(",")) {
            String t = d.strip().replace("L", "");
            if (t.isEmpty()) continue;
            try {
                out.add(Integer.parseInt(t));
            } catch (NumberFormatException e) {
                throw new IOException(file + ": bad .npy shape (" + dims + ")");
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Tensor.of reads an empty shape as 1-D; a scalar is made 1-D here and reshaped after. */
    private static int[] flatShape(int[] shape) { return shape.length == 0 ? new int[] {1} : shape; }

    private static int[] reversed(int[] shape) {
        int[] r = new int[shape.length];
        for (int i = 0; i < r.length; i++) r[i] = shape[shape.length - 1 - i];
        return r;
    }

    private static int[] reversedAxes(int rank) {
        int[] r = new int[rank];
        for (int i = 0; i < rank; i++) r[i] = rank - 1 - i;
        return r;
    }
}
