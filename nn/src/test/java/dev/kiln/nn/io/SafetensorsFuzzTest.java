package dev.kiln.nn.io;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The safetensors reader given malformed input (the reliability suite of issue 14, beside the reader's own tests): every file either loads or fails with an IOException that says
 * why, never another exception, a stack overflow or a wrong tensor (issue 14, findings 5, 12).
 */
class SafetensorsFuzzTest {
    /** A fixed number of seeded mutations: the same files on every run, a few seconds in all. */
    private static final int ITERATIONS = 1500;

    @TempDir
    Path dir;

    private void assertUnreadable(byte[] bytes, String... fragments) throws IOException {
        Path p = dir.resolve("bad.safetensors");
        Files.write(p, bytes);
        IOException e = assertThrows(IOException.class, () -> Safetensors.read(p));
        for (String f : fragments) assertTrue(e.getMessage().contains(f), () -> "'" + e.getMessage() + "' should mention " + f);
    }

    @Test
    void deepNestingAndOverflowingShapesAreIoExceptions() throws IOException {
        assertUnreadable(SafetensorsTest.file("{\"a\":" + "[".repeat(50_000) + "]".repeat(50_000) + "}", 0), "nested deeper");
        assertUnreadable(SafetensorsTest.file("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,0]}}", 0), "elements");
        assertUnreadable(SafetensorsTest.file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647],\"data_offsets\":[0,0]}}", 0), "bytes");
        // A 3 GiB tensor whose data is not there: the offsets are checked in long arithmetic, without an int overflow.
        assertUnreadable(SafetensorsTest.file("{\"a\":{\"dtype\":\"F32\",\"shape\":[805306368],\"data_offsets\":[0,3221225472]}}", 16), "truncated");
        byte[] badBool = SafetensorsTest.file("{\"a\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        badBool[badBool.length - 1] = 2;
        assertUnreadable(badBool, "bool", "byte 2");
    }

    @Test
    void seededMutationsOfAValidFileLoadOrFailWithAnIoException() throws IOException {
        Path valid = dir.resolve("valid.safetensors");
        try (Scope s = Scope.open()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("w", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
            t.put("b", Tensor.of(new long[] {7, 8}, 2));
            t.put("m", Tensor.of(new boolean[] {true, false}, 2));
            t.put("h", Tensor.of(new float[] {0.5f, -1}, 2).to(DType.FLOAT16));
            Safetensors.write(valid, t, Map.of("note", "fuzz"));
        }
        byte[] original = Files.readAllBytes(valid);
        SplittableRandom random = new SplittableRandom(14);
        Path p = dir.resolve("mutant.safetensors");
        int loaded = 0;
        for (int i = 0; i < ITERATIONS; i++) {
            byte[] m = mutate(original, random);
            Files.write(p, m);
            try (Scope s = Scope.open()) {
                Safetensors.Contents c = Safetensors.read(p);
                for (Tensor x : c.tensors().values()) assertEquals(x.numel(), x.toDoubleArray().length);
                loaded++;
            } catch (IOException expected) {
                assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank());
            } catch (RuntimeException | Error e) {
                fail("mutation " + i + " failed with " + e + " instead of an IOException", e);
            }
        }
        assertTrue(loaded < ITERATIONS, "the mutations must break some files");
    }

    /** One to three byte edits, a truncation, or a rewrite of the header length. */
    private static byte[] mutate(byte[] original, SplittableRandom r) {
        byte[] m = original.clone();
        switch (r.nextInt(4)) {
            case 0 -> {
                int edits = 1 + r.nextInt(3);
                for (int e = 0; e < edits; e++) m[r.nextInt(m.length)] = (byte) r.nextInt(256);
            }
            case 1 -> m = java.util.Arrays.copyOf(m, r.nextInt(m.length));
            case 2 -> ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putLong(0, r.nextLong());
            default -> {
                // An edit inside the JSON header, where the parser and validation do their work.
                long headerLen = ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
                int at = 8 + r.nextInt((int) headerLen);
                m[at] = (byte) "{}[]\":,0123456789-e.".charAt(r.nextInt(20));
            }
        }
        return m;
    }

    /** A real tensor over 2 GiB, from a sparse file: several GiB of memory, so only with -Dkiln.test.large=true. */
    @Test
    @EnabledIfSystemProperty(named = "kiln.test.large", matches = "true")
    void aTensorOverTwoGibibytesLoads() throws IOException {
        long elements = (5L << 30) / 8; // 2.5 GiB of float32 zeros
        String header = "{\"z\":{\"dtype\":\"F32\",\"shape\":[" + elements + "],\"data_offsets\":[0," + elements * 4 + "]}}";
        Path p = dir.resolve("large.safetensors");
        Files.write(p, SafetensorsTest.file(header, 0));
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.setLength(f.length() + elements * 4);
        }
        try (Scope s = Scope.open()) {
            Tensor z = Safetensors.read(p).tensors().get("z");
            assertEquals(elements, z.numel());
            assertEquals(0.0, z.abs().max().item());
        }
    }
}
