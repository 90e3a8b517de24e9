package dev.kiln.nn.io;

import dev.kiln.DType;
import dev.kiln.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of JSON mapping each
 * tensor name to {dtype, shape, data_offsets} (plus an optional "__metadata__" object of strings), then the raw
 * little-endian data. Files are written to a temporary file beside the target and renamed over it, so a crash
 * never leaves a half-written checkpoint under the real name; reading validates every offset and length and
 * reports a malformed or truncated file with a {@link IOException} that says what is wrong.
 */
public final class Safetensors {
    private static final long MAX_HEADER = 100L << 20;
    private static final String METADATA = "__metadata__";

    private Safetensors() {}

    /**
     * Tensors (host copies, on the default device when read) and string metadata of one file.
     *
     * @param tensors the tensors by name, in the file's order
     * @param metadata the file's {@code __metadata__} entries
     */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) implements AutoCloseable {
        @Override
        public void close() { tensors.values().forEach(Tensor::close); }
    }

    private static String code(DType t) {
        return switch (t) {
            case FLOAT32 -> "F32";
            case FLOAT64 -> "F64";
            case INT32 -> "I32";
            case INT64 -> "I64";
            case BOOL -> "BOOL";
            case FLOAT16 -> "F16";
            case BFLOAT16 -> "BF16";
        };
    }

    private static DType dtypeOf(String code, String file, String name) throws IOException {
        return switch (code) {
            case "F32" -> DType.FLOAT32;
            case "F64" -> DType.FLOAT64;
            case "I32" -> DType.INT32;
            case "I64" -> DType.INT64;
            case "BOOL" -> DType.BOOL;
            case "F16" -> DType.FLOAT16;
            case "BF16" -> DType.BFLOAT16;
            default -> throw new IOException(file + ": tensor '" + name + "' has dtype " + code + ", which Kiln does not support");
        };
    }

    // ---- writing ----------------------------------------------------------------------------------------

    /**
     * Writes tensors and metadata in the safetensors format.
     *
     * @param file the file to write; replaced atomically (a temporary file, then a rename)
     * @param tensors the tensors by name
     * @param metadata string metadata, or an empty map
     * @throws IOException if the file cannot be written
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) header.put(METADATA, new LinkedHashMap<>(metadata));
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals(METADATA)) throw new IllegalArgumentException("safetensors: '" + METADATA + "' is not a valid tensor name");
            Tensor t = e.getValue();
            long length = t.numel() * t.dtype().byteSize();
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", code(t.dtype()));
            List<Object> shape = new ArrayList<>();
            for (int d : t.shape()) shape.add((long) d);
            entry.put("shape", shape);
            entry.put("data_offsets", List.of(offset, offset + length));
            header.put(e.getKey(), entry);
            offset += length;
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();

        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // The temporary file's name carries this process's id, so a later save can tell a temporary file left by
        // a process that was killed mid-write (deleted) from one another live process is writing (kept).
        String prefix = file.getFileName() + ".";
        sweepStaleTemporaries(dir, prefix);
        Path tmp = Files.createTempFile(dir, prefix + ProcessHandle.current().pid() + ".", TEMP_SUFFIX);
        try {
            // Temporary files are private; the checkpoint itself gets ordinary permissions.
            try {
                Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException notPosix) {
                // Other file systems keep their defaults.
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, head);
                for (Tensor t : tensors.values()) writeData(ch, t);
                ch.force(true);
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static final String TEMP_SUFFIX = ".tmp";
    /** Elements written per host copy: a tensor of any size is saved without an array as large as itself. */
    private static final int WRITE_CHUNK = 1 << 24;

    /** Deletes {@code <prefix><pid>.<random>.tmp} files in {@code dir} whose process is no longer running. */
    static void sweepStaleTemporaries(Path dir, String prefix) {
        try (java.util.stream.Stream<Path> files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String name = p.getFileName().toString();
                if (!name.startsWith(prefix) || !name.endsWith(TEMP_SUFFIX)) continue;
                int dot = name.indexOf('.', prefix.length());
                if (dot < 0) continue;
                long pid;
                try {
                    pid = Long.parseLong(name.substring(prefix.length(), dot));
                } catch (NumberFormatException notOurs) {
                    continue;
                }
                if (ProcessHandle.of(pid).isEmpty()) Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException sweepFailed) {
            // Best effort: a file that cannot be listed or deleted now may be next time; the save goes on.
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static void writeData(FileChannel ch, Tensor t) throws IOException {
        if (t.numel() <= WRITE_CHUNK) {
            writeFully(ch, ByteBuffer.wrap(bytes(t)));
            return;
        }
        try (dev.kiln.autograd.GradMode ng = dev.kiln.autograd.GradMode.noGrad(); Tensor flat = t.reshape(-1)) {
            for (long at = 0; at < flat.numel(); at += WRITE_CHUNK) {
                try (Tensor part = flat.narrow(0, (int) at, (int) Math.min(WRITE_CHUNK, flat.numel() - at))) {
                    writeFully(ch, ByteBuffer.wrap(bytes(part)));
                }
            }
        }
    }

    /** The tensor's elements, row-major, little-endian, in its own dtype. */
    private static byte[] bytes(Tensor t) {
        int n = Math.toIntExact(t.numel());
        ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(n, t.dtype().byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case FLOAT32 -> b.asFloatBuffer().put(t.toFloatArray());
            case FLOAT64 -> b.asDoubleBuffer().put(t.toDoubleArray());
            case INT32 -> b.asIntBuffer().put(t.toIntArray());
            case INT64 -> b.asLongBuffer().put(t.toLongArray());
            case BOOL -> {
                for (boolean v : t.toBooleanArray()) b.put((byte) (v ? 1 : 0));
            }
            // Half types widen to float32 exactly, so narrowing back on the host recovers the stored bits.
            case FLOAT16 -> {
                for (float v : t.toFloatArray()) b.putShort(Float.floatToFloat16(v));
            }
            case BFLOAT16 -> {
                for (float v : t.toFloatArray()) b.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
            }
        }
        return b.array();
    }

    // ---- reading ----------------------------------------------------------------------------------------

    /**
     * Reads a safetensors file, validating every offset and length.
     *
     * @param file the file to read
     * @return its tensors and metadata; close it to release the tensors
     * @throws IOException if the file cannot be read or is malformed or truncated, saying what is wrong
     */
    @SuppressWarnings("unchecked")
    public static Contents read(Path file) throws IOException {
        String f = file.toString();
        long size = Files.size(file);
        if (size < 8) throw new IOException(f + ": not a safetensors file (" + size + " bytes, shorter than the 8-byte header length)");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, f);
            long headerLen = lenBuf.flip().getLong();
            if (headerLen <= 0 || headerLen > MAX_HEADER || headerLen > size - 8)
                throw new IOException(f + ": header length " + headerLen + " is impossible for a file of " + size + " bytes (malformed or truncated)");
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, f);
            Map<String, Object> header;
            try {
                header = Json.parseObject(new String(hb.array(), StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw new IOException(f + ": malformed safetensors header: " + e.getMessage(), e);
            }
            long dataLen = size - 8 - headerLen;
            Map<String, String> metadata = new LinkedHashMap<>();
            Object meta = header.remove(METADATA);
            if (meta != null) {
                if (!(meta instanceof Map)) throw new IOException(f + ": __metadata__ must be an object of strings");
                for (Map.Entry<String, Object> e : ((Map<String, Object>) meta).entrySet()) {
                    if (!(e.getValue() instanceof String s)) throw new IOException(f + ": __metadata__ value '" + e.getKey() + "' is not a string");
                    metadata.put(e.getKey(), s);
                }
            }
            List<Entry> entries = new ArrayList<>();
            for (Map.Entry<String, Object> e : header.entrySet()) entries.add(Entry.parse(e.getKey(), e.getValue(), f, dataLen));
            checkCoverage(entries, dataLen, f);
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            try {
                for (Entry e : entries) tensors.put(e.name, load(ch, 8 + headerLen + e.begin, e, f));
            } catch (IOException | RuntimeException ex) {
                tensors.values().forEach(Tensor::close);
                throw ex;
            }
            return new Contents(tensors, metadata);
        }
    }

    private record Entry(String name, DType dtype, int[] shape, long begin, long end) {
        @SuppressWarnings("unchecked")
        static Entry parse(String name, Object v, String f, long dataLen) throws IOException {
            if (!(v instanceof Map)) throw new IOException(f + ": header entry '" + name + "' is not an object");
            Map<String, Object> m = (Map<String, Object>) v;
            if (!(m.get("dtype") instanceof String code) || !(m.get("shape") instanceof List<?> shapeList)
                    || !(m.get("data_offsets") instanceof List<?> offsets) || offsets.size() != 2)
                throw new IOException(f + ": header entry '" + name + "' needs dtype, shape and two data_offsets, got " + Json.write(m));
            DType dtype = dtypeOf(code, f, name);
            int[] shape = new int[shapeList.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                if (!(shapeList.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE)
                    throw new IOException(f + ": tensor '" + name + "' has a bad shape " + shapeList);
                shape[i] = (int) (long) d;
                try {
                    numel = Math.multiplyExact(numel, d);
                } catch (ArithmeticException overflow) {
                    throw new IOException(f + ": tensor '" + name + "' has shape " + shapeList + ", more than " + Long.MAX_VALUE + " elements");
                }
            }
            if (!(offsets.get(0) instanceof Long begin) || !(offsets.get(1) instanceof Long end) || begin < 0 || end < begin)
                throw new IOException(f + ": tensor '" + name + "' has bad data_offsets " + offsets);
            if (end > dataLen)
                throw new IOException(f + ": tensor '" + name + "' ends at byte " + end + " of a data section of " + dataLen + " bytes (file truncated?)");
            if (numel > Long.MAX_VALUE / dtype.byteSize())
                throw new IOException(f + ": tensor '" + name + "' of shape " + shapeList + " " + code + " needs more than " + Long.MAX_VALUE + " bytes");
            if (end - begin != numel * dtype.byteSize())
                throw new IOException(f + ": tensor '" + name + "' of shape " + shapeList + " " + code + " needs " + numel * dtype.byteSize()
                        + " bytes but its offsets span " + (end - begin));
            return new Entry(name, dtype, shape, begin, end);
        }
    }

    /** The tensors must tile the data section exactly: no gaps, no overlaps, nothing left over. */
    private static void checkCoverage(List<Entry> entries, long dataLen, String f) throws IOException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(java.util.Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long at = 0;
        for (Entry e : sorted) {
            if (e.begin != at)
                throw new IOException(f + ": tensor '" + e.name + "' starts at byte " + e.begin + " but the previous data ends at " + at + " (overlap or gap)");
            at = e.end;
        }
        if (at != dataLen) throw new IOException(f + ": the data section has " + dataLen + " bytes but the tensors cover " + at);
    }

    private static void readFully(FileChannel ch, ByteBuffer b, String f) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) throw new IOException(f + ": unexpected end of file (truncated)");
        }
    }

    /**
     * Maps the tensor's bytes and copies them to the device as they are (safetensors stores every dtype
     * little-endian, as Kiln's tensors are), so a tensor of any size loads without a host copy or an array limit.
     */
    private static Tensor load(FileChannel ch, long at, Entry e, String f) throws IOException {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) throw new IOException(f + ": reading safetensors needs a little-endian host");
        Tensor t = Tensor.empty(e.dtype, null, e.shape);
        try (Arena arena = Arena.ofConfined()) {
            long bytes = e.end - e.begin;
            if (bytes > 0) {
                MemorySegment data = ch.map(FileChannel.MapMode.READ_ONLY, at, bytes, arena);
                if (e.dtype == DType.BOOL) checkBooleans(data, f, e.name);
                t.backend().copyFromHost(data, t.view().buffer(), 0);
            }
            return t;
        } catch (IOException | RuntimeException ex) {
            t.close();
            throw ex;
        }
    }

    private static void checkBooleans(MemorySegment data, String f, String name) throws IOException {
        for (long i = 0; i < data.byteSize(); i++) {
            byte v = data.get(ValueLayout.JAVA_BYTE, i);
            if (v != 0 && v != 1) throw new IOException(f + ": bool tensor '" + name + "' holds byte " + v + " at element " + i + " (only 0 and 1 are booleans)");
        }
    }
}
