package dev.kiln.nn.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reader for the IDX format of the MNIST files: a big-endian magic (two zero bytes, a type code, the number of
 * dimensions), the dimensions as big-endian int32, then the data row-major. Only unsigned bytes (type 0x08)
 * are supported, which is what MNIST uses. Files ending in .gz are decompressed on the fly.
 */
public final class Idx {
    private Idx() {}

    /**
     * The dimensions and unsigned-byte data of one IDX file.
     *
     * @param shape the dimensions, the example count first
     * @param data the values, row-major
     */
    public record Array(int[] shape, byte[] data) {
        /**
         * {@return the number of examples (the first dimension)}
         */
        public int count() { return shape[0]; }

        /**
         * {@return the number of values per example}
         */
        public int exampleSize() { return shape.length == 1 ? 1 : data.length / shape[0]; }
    }

    /**
     * Reads an IDX file.
     *
     * @param file the file, gzip-compressed when its name ends in .gz
     * @return its dimensions and data
     * @throws IOException if it cannot be read or is not an unsigned-byte IDX file
     */
    public static Array read(Path file) throws IOException {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file))) {
            return read(file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw, file.toString());
        }
    }

    /**
     * Reads IDX data from a stream.
     *
     * @param in the stream, already decompressed
     * @param name the name to use in messages
     * @return its dimensions and data
     * @throws IOException if it cannot be read or is not an unsigned-byte IDX file
     */
    public static Array read(InputStream in, String name) throws IOException {
        DataInputStream d = new DataInputStream(in);
        try {
            int magic = d.readInt();
            if ((magic >>> 16) != 0)
                throw new IOException(name + ": not an IDX file (magic 0x" + Integer.toHexString(magic) + ")");
            int type = (magic >>> 8) & 0xFF, dims = magic & 0xFF;
            if (type != 0x08) throw new IOException(name + ": IDX element type 0x" + Integer.toHexString(type) + " is not supported (only unsigned bytes, 0x08)");
            if (dims < 1 || dims > 4) throw new IOException(name + ": IDX with " + dims + " dimensions is not supported");
            int[] shape = new int[dims];
            long n = 1;
            for (int i = 0; i < dims; i++) {
                shape[i] = d.readInt();
                if (shape[i] < 0) throw new IOException(name + ": negative IDX dimension " + shape[i]);
                n *= shape[i];
            }
            if (n > Integer.MAX_VALUE - 16) throw new IOException(name + ": IDX data of " + n + " bytes is too large");
            byte[] data = new byte[(int) n];
            d.readFully(data);
            return new Array(shape, data);
        } catch (EOFException e) {
            throw new IOException(name + ": IDX file is truncated", e);
        }
    }
}
