package dev.kiln.nn.io;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** .npy files as numpy writes them (bytes from numpy.save), and Kiln's own round trip. */
class NpyTest {
    @TempDir
    Path dir;

    private static final String HEADER_START = "934e554d5059010076007b276465736372273a2027";

    private Tensor readHex(String hex) throws Exception {
        Path file = dir.resolve("a.npy");
        Files.write(file, HexFormat.of().parseHex(hex));
        return Npy.read(file, Kiln.defaultDevice());
    }

    private static String pad(String headerRest, String data) {
        // numpy's header: the dict, spaces to a 64-byte boundary, a newline (128 bytes in all here).
        String head = HEADER_START + headerRest;
        StringBuilder sb = new StringBuilder(head);
        while (sb.length() < 2 * 127) sb.append("20");
        return sb.append("0a").append(data).toString();
    }

    @Test
    void readsWhatNumpyWrites() throws Exception {
        try (Scope scope = Scope.open()) {
            // np.arange(6, dtype='<f4').reshape(2, 3)
            Tensor f = readHex(pad(HexFormat.of().formatHex("<f4', 'fortran_order': False, 'shape': (2, 3), }".getBytes()),
                    "000000000000803f0000004000004040000080400000a040"));
            assertArrayEquals(new int[] {2, 3}, f.shape());
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, f.toFloatArray());
            // np.asfortranarray(np.arange(6, dtype='>i2').reshape(2, 3)): big-endian, column-major, widened to int32
            Tensor s = readHex(pad(HexFormat.of().formatHex(">i2', 'fortran_order': True, 'shape': (2, 3), }".getBytes()), "000000030001000400020005"));
            assertEquals(DType.INT32, s.dtype());
            assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, s.toIntArray());
            // np.array([0, 200, 255], dtype=np.uint8)
            Tensor u = readHex(pad(HexFormat.of().formatHex("|u1', 'fortran_order': False, 'shape': (3,), }".getBytes()), "00c8ff"));
            assertArrayEquals(new int[] {0, 200, 255}, u.toIntArray());
        }
    }

    @Test
    void roundTripsEachDtype() throws Exception {
        try (Scope scope = Scope.open()) {
            Tensor[] tensors = {Tensor.of(new float[] {1.5f, -2, 3, 4, 5, 6}, 2, 3), Tensor.of(new long[] {1, -2, 1L << 40}, 3),
                    Tensor.of(new int[] {7, 8}, 2, 1), Tensor.of(new boolean[] {true, false}, 2), Tensor.of(new float[] {2.5f}, 1).reshape()};
            for (Tensor t : tensors) {
                Path file = dir.resolve("t.npy");
                Npy.write(file, t);
                assertEquals(0, (Files.size(file) - t.numel() * t.dtype().byteSize()) % 64, "data starts at a 64-byte boundary");
                Tensor back = Npy.read(file, Kiln.defaultDevice());
                assertEquals(t.dtype(), back.dtype());
                assertArrayEquals(t.shape(), back.shape());
                assertArrayEquals(t.toDoubleArray(), back.toDoubleArray());
            }
        }
    }

    @Test
    void badFilesSaySo() throws Exception {
        Path file = dir.resolve("bad.npy");
        Files.write(file, new byte[] {1, 2, 3});
        assertTrue(assertThrows(java.io.IOException.class, () -> Npy.read(file, Kiln.defaultDevice())).getMessage().contains("not a .npy file"));
        Files.write(file, HexFormat.of().parseHex(pad(HexFormat.of().formatHex("<f4', 'fortran_order': False, 'shape': (4,), }".getBytes()), "0000")));
        assertTrue(assertThrows(java.io.IOException.class, () -> Npy.read(file, Kiln.defaultDevice())).getMessage().contains("bytes of data"));
    }
}
