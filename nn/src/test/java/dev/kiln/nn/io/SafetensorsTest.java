package dev.kiln.nn.io;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripIsBitExactForEveryDtype() throws IOException {
        try (Scope s = Scope.open()) {
            float[] f = {1.5f, -0f, Float.NaN, Float.MIN_VALUE, Float.MAX_VALUE, Float.NEGATIVE_INFINITY};
            double[] d = {Math.PI, -0.0, Double.MIN_VALUE, 1e300};
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("f32", Tensor.of(f, 2, 3));
            t.put("f64", Tensor.of(d, 4));
            t.put("i32", Tensor.of(new int[] {Integer.MIN_VALUE, 7}, 2));
            t.put("i64", Tensor.of(new long[] {Long.MAX_VALUE, -1}, 1, 2));
            t.put("bool", Tensor.of(new boolean[] {true, false, true}, 3));
            t.put("f16", Tensor.of(new float[] {0.1f, 65504f, -2.5f}, 3).to(DType.FLOAT16));
            t.put("bf16", Tensor.of(new float[] {0.1f, 3e38f, -2.5f}, 3).to(DType.BFLOAT16));
            t.put("scalar", Tensor.scalar(3.25));
            t.put("empty", Tensor.zeros(0, 3));
            Path file = dir.resolve("t.safetensors");
            Safetensors.write(file, t, Map.of("note", "hello \"world\"\n"));
            try (Safetensors.Contents c = Safetensors.read(file)) {
                assertEquals(List.copyOf(t.keySet()), List.copyOf(c.tensors().keySet()));
                assertEquals("hello \"world\"\n", c.metadata().get("note"));
                for (String k : t.keySet()) {
                    Tensor a = t.get(k), b = c.tensors().get(k);
                    assertEquals(a.dtype(), b.dtype(), k);
                    assertArrayEquals(a.shape(), b.shape(), k);
                }
                float[] back = c.tensors().get("f32").toFloatArray();
                for (int i = 0; i < f.length; i++) assertEquals(Float.floatToRawIntBits(f[i]), Float.floatToRawIntBits(back[i]), "f32 bits " + i);
                double[] backD = c.tensors().get("f64").toDoubleArray();
                for (int i = 0; i < d.length; i++) assertEquals(Double.doubleToRawLongBits(d[i]), Double.doubleToRawLongBits(backD[i]), "f64 bits " + i);
                assertArrayEquals(new long[] {Long.MAX_VALUE, -1}, c.tensors().get("i64").toLongArray());
                assertArrayEquals(new int[] {Integer.MIN_VALUE, 7}, c.tensors().get("i32").toIntArray());
                assertArrayEquals(new boolean[] {true, false, true}, c.tensors().get("bool").toBooleanArray());
                assertArrayEquals(t.get("f16").toFloatArray(), c.tensors().get("f16").toFloatArray());
                assertArrayEquals(t.get("bf16").toFloatArray(), c.tensors().get("bf16").toFloatArray());
                assertEquals(3.25, c.tensors().get("scalar").item());
            }
            try (var files = Files.list(dir)) {
                assertEquals(List.of(file), files.toList(), "no temporary file is left behind");
            }
        }
    }

    @Test
    void headerFollowsTheFormat() throws IOException {
        Path file = dir.resolve("h.safetensors");
        Safetensors.write(file, Map.of("w", Tensor.of(new float[] {1, 2}, 2)), Map.of());
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8, "header padded to 8 bytes");
        Map<String, Object> header = Json.parseObject(new String(bytes, 8, (int) n, StandardCharsets.UTF_8).trim());
        assertEquals("{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", Json.write(header.get("w")));
        assertEquals(8 + n + 8, bytes.length);
        assertEquals(2f, ByteBuffer.wrap(bytes, (int) (8 + n + 4), 4).order(ByteOrder.LITTLE_ENDIAN).getFloat());
    }

    private Path withBytes(byte[] b) throws IOException {
        Path p = dir.resolve("bad-" + Arrays.hashCode(b) + ".safetensors");
        Files.write(p, b);
        return p;
    }

    /** A file with this header and {@code dataBytes} zero bytes of data (the fuzz test builds on it too). */
    static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    private void assertMalformed(byte[] contents, String expectedWords) throws IOException {
        Path p = withBytes(contents);
        IOException e = assertThrows(IOException.class, () -> Safetensors.read(p));
        assertTrue(e.getMessage().contains(expectedWords), "message '" + e.getMessage() + "' should mention '" + expectedWords + "'");
        assertTrue(e.getMessage().contains(p.toString()), "message names the file");
    }

    @Test
    void malformedAndTruncatedFilesFailClearly() throws IOException {
        assertMalformed(new byte[] {1, 2, 3}, "shorter than the 8-byte header length");
        Path good = dir.resolve("g.safetensors");
        Safetensors.write(good, Map.of("w", Tensor.of(new float[] {1, 2, 3, 4}, 4)), Map.of());
        byte[] full = Files.readAllBytes(good);
        assertMalformed(Arrays.copyOf(full, full.length - 3), "truncated");
        assertMalformed(Arrays.copyOf(full, 20), "impossible");
        assertMalformed(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]", 8), "malformed safetensors header");
        assertMalformed(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8), "needs 12 bytes");
        assertMalformed(file("{\"w\":{\"dtype\":\"Q8\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "does not support");
        assertMalformed(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
                "overlap");
        assertMalformed(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8), "cover");
        assertMalformed(file("{\"__metadata__\":{\"k\":1}}", 0), "not a string");
    }

    @Test
    void jsonRoundTrips() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a", List.of(1L, 2.5, "x\ty", true));
        m.put("b", null);
        m.put("c", Map.of("nested", -3L));
        assertEquals(m, Json.parse(Json.write(m)));
        assertEquals(0.1 + 0.2, Json.asDouble(Json.parse(Json.write(0.1 + 0.2))), "doubles keep every bit");
        assertEquals(Double.POSITIVE_INFINITY, Json.asDouble(Json.parse(Json.write(Double.POSITIVE_INFINITY))));
        assertEquals("é\u0001", Json.parse("\"\\u00e9\\u0001\""));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{\"a\":1,\"a\":2}"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("[1,]"));
        assertThrows(IllegalArgumentException.class, () -> Json.parse("{} x"));
    }
}
