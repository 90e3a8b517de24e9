package dev.kiln.nn.data;

import dev.kiln.Tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;

/**
 * A character-level corpus as nanoGPT's {@code shakespeare_char} preparation makes it: the vocabulary is the
 * sorted set of distinct characters, the first 90% of the text is for training and the last 10% is held out.
 * {@link #batch} draws (batch, context) windows at random offsets and their next-character targets.
 */
public final class CharCorpus {
    /** Resource name of tiny Shakespeare bundled with kiln-nn (see the provenance note in the same folder). */
    public static final String TINY_SHAKESPEARE = "/dev/kiln/nn/data/shakespeare/input.txt.gz";

    private final char[] vocabulary;
    private final int[] train;
    private final int[] heldOut;

    /**
     * A corpus over {@code text}, its first {@code trainFraction} for training and the rest held out.
     *
     * @param text the whole text
     * @param trainFraction the fraction for training, in (0, 1)
     * @throws IllegalArgumentException if trainFraction is not in (0, 1)
     */
    public CharCorpus(String text, double trainFraction) {
        if (!(trainFraction > 0 && trainFraction < 1)) throw new IllegalArgumentException("CharCorpus: trainFraction must be in (0, 1), got " + trainFraction);
        TreeSet<Character> chars = new TreeSet<>();
        for (int i = 0; i < text.length(); i++) chars.add(text.charAt(i));
        vocabulary = new char[chars.size()];
        int k = 0;
        for (char c : chars) vocabulary[k++] = c;
        int[] ids = new int[text.length()];
        for (int i = 0; i < ids.length; i++) ids[i] = java.util.Arrays.binarySearch(vocabulary, text.charAt(i));
        int split = (int) (ids.length * trainFraction);
        train = java.util.Arrays.copyOfRange(ids, 0, split);
        heldOut = java.util.Arrays.copyOfRange(ids, split, ids.length);
    }

    /**
     * Tiny Shakespeare with the last 10% held out.
     *
     * @return the corpus
     * @throws IOException if the bundled resource is missing or unreadable
     */
    public static CharCorpus tinyShakespeare() throws IOException {
        try (InputStream in = CharCorpus.class.getResourceAsStream(TINY_SHAKESPEARE)) {
            if (in == null) throw new IOException("tiny Shakespeare resource " + TINY_SHAKESPEARE + " is missing from the class path");
            return new CharCorpus(new String(new GZIPInputStream(in).readAllBytes(), StandardCharsets.UTF_8), 0.9);
        }
    }

    /**
     * The training or held-out part of the text.
     *
     * @param heldOutText whether to return the held-out part (else the training part)
     * @return that part, as characters
     */
    public String text(boolean heldOutText) {
        int[] ids = heldOutText ? heldOut : train;
        char[] chars = new char[ids.length];
        for (int i = 0; i < ids.length; i++) chars[i] = vocabulary[ids[i]];
        return new String(chars);
    }

    /**
     * The ids of a text's characters.
     *
     * @param text characters of this corpus's vocabulary
     * @return their ids
     * @throws IllegalArgumentException if a character is not in the vocabulary
     */
    public int[] encode(String text) {
        int[] ids = new int[text.length()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = java.util.Arrays.binarySearch(vocabulary, text.charAt(i));
            if (ids[i] < 0) throw new IllegalArgumentException("CharCorpus.encode: character '" + text.charAt(i) + "' (U+" + Integer.toHexString(text.charAt(i)) + ") is not in the vocabulary");
        }
        return ids;
    }

    /** {@return the number of distinct characters} */
    public int vocabularySize() { return vocabulary.length; }

    /** {@return the number of characters for training} */
    public int trainLength() { return train.length; }

    /** {@return the number of held-out characters} */
    public int heldOutLength() { return heldOut.length; }

    /**
     * Inputs and next-character targets, each (batch, context) INT64 on the default device.
     *
     * @param inputs the character ids of each window
     * @param targets the id of the character after each input character
     */
    public record Windows(Tensor inputs, Tensor targets) implements AutoCloseable {
        @Override
        public void close() {
            inputs.close();
            targets.close();
        }
    }

    /**
     * {@code batch} windows of {@code context} characters at offsets drawn from {@code random}.
     *
     * @param heldOutText whether to draw from the held-out text (else the training text)
     * @param batch the number of windows
     * @param context the characters per window
     * @param random where the offsets come from
     * @return the windows and their targets
     * @throws IllegalArgumentException if batch or context is not positive, or context is not shorter than the text
     */

    public Windows batch(boolean heldOutText, int batch, int context, SplittableRandom random) {
        int length = heldOutText ? heldOut.length : train.length;
        if (batch <= 0 || context <= 0 || context >= length)
            throw new IllegalArgumentException("CharCorpus.batch: need batch > 0 and 0 < context < " + length + ", got " + batch + ", " + context);
        int[] offsets = new int[batch];
        for (int b = 0; b < batch; b++) offsets[b] = random.nextInt(length - context);
        return windows(heldOutText, offsets, context);
    }

    /**
     * The windows of {@code context} characters starting at {@code offsets} and their next-character targets: for
     * reading the text in order (consecutive segments of parallel streams), where {@link #batch} reads it at random.
     *
     * @param heldOutText whether to read the held-out text (else the training text)
     * @param offsets where each window starts
     * @param context the characters per window
     * @return the windows (offsets.length, context) and their targets
     * @throws IllegalArgumentException if a window with its last target does not lie inside the text
     */
    public Windows windows(boolean heldOutText, int[] offsets, int context) {
        int[] ids = heldOutText ? heldOut : train;
        int batch = offsets.length;
        long[] x = new long[batch * context], y = new long[batch * context];
        for (int b = 0; b < batch; b++) {
            int start = offsets[b];
            if (context <= 0 || start < 0 || start + context >= ids.length)
                throw new IllegalArgumentException("CharCorpus.windows: a window of " + context + " at " + start + " and its target do not fit in " + ids.length + " characters");
            for (int t = 0; t < context; t++) {
                x[b * context + t] = ids[start + t];
                y[b * context + t] = ids[start + t + 1];
            }
        }
        return new Windows(Tensor.of(x, batch, context), Tensor.of(y, batch, context));
    }
}
