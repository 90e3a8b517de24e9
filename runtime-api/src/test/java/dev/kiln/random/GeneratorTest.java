package dev.kiln.random;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Generator state handling and thread safety; the numbers themselves are checked per device in the kit. */
class GeneratorTest {

    @Test
    void seedOffsetAndStateRoundTrip() {
        Generator g = new Generator(5);
        assertEquals(5, g.initialSeed());
        assertEquals(0, g.offset());
        assertEquals(new Generator.State(5, 0), g.reserve(10));
        assertEquals(new Generator.State(5, 10), g.reserve(3));
        Generator.State saved = g.getState();
        assertEquals(new Generator.State(5, 13), saved);
        g.reserve(100);
        g.setState(saved);
        assertEquals(13, g.offset());
        assertEquals(0, g.manualSeed(9).offset());
        assertEquals(9, g.initialSeed());
        assertThrows(IllegalArgumentException.class, () -> g.reserve(-1));
        assertThrows(IllegalArgumentException.class, () -> g.setState(new Generator.State(1, -5)));
    }

    @Test
    void concurrentDrawsGetDisjointCounters() throws Exception {
        Generator g = new Generator(1);
        int threads = 4, draws = 2000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<long[]>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++)
                results.add(pool.submit(() -> {
                    long[] firsts = new long[draws];
                    for (int i = 0; i < draws; i++) firsts[i] = g.reserve(3).offset();
                    return firsts;
                }));
            long[] all = new long[threads * draws];
            int k = 0;
            for (Future<long[]> f : results) for (long v : f.get()) all[k++] = v;
            Arrays.sort(all);
            for (int i = 0; i < all.length; i++) assertEquals(3L * i, all[i], "every range of 3 handed out once");
            assertEquals(3L * threads * draws, g.offset());
        } finally {
            pool.shutdown();
        }
    }

    @Test
    void permutationIsAStableKeySortOfPhiloxWords() {
        int[] p = Philox.permutation(3, 7, 64);
        int[] sorted = p.clone();
        Arrays.sort(sorted);
        int[] identity = new int[64];
        Arrays.setAll(identity, i -> i);
        assertArrayEquals(identity, sorted);
        for (int i = 1; i < 64; i++) {
            long prev = Philox.word(3, 7 + p[i - 1], 0) & 0xFFFFFFFFL, cur = Philox.word(3, 7 + p[i], 0) & 0xFFFFFFFFL;
            assertEquals(true, prev < cur || (prev == cur && p[i - 1] < p[i]), "ordered by key at " + i);
        }
        assertNotEquals(Arrays.toString(p), Arrays.toString(Philox.permutation(3, 8, 64)));
    }
}
