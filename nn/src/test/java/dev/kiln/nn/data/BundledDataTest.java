package dev.kiln.nn.data;

import dev.kiln.Scope;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bundled tiny Shakespeare and Cora: the sizes their sources document, and windows that are next-character pairs. */
class BundledDataTest {

    @Test
    void coraHasThePlanetoidSplitAndItsDocumentedSizes() throws Exception {
        Cora cora = Cora.load();
        assertEquals(2708, cora.nodes());
        assertEquals(7, cora.classes());
        assertEquals(5278, cora.edges().length);
        assertEquals(140, cora.train().length);
        assertEquals(500, cora.validation().length);
        assertEquals(1000, cora.test().length);
        Set<Integer> seen = new HashSet<>();
        for (int[] split : new int[][] {cora.train(), cora.validation(), cora.test()}) for (int node : split) assertTrue(seen.add(node), "node " + node + " in two splits");
        float[] a = cora.adjacency();
        int[] e = cora.edges()[0];
        assertEquals(1f, a[e[0] * cora.nodes() + e[1]]);
        assertEquals(1f, a[e[1] * cora.nodes() + e[0]]);
        for (int i = 0; i < cora.nodes(); i++) assertEquals(0f, a[i * cora.nodes() + i], "self-loop at " + i);
    }

    @Test
    void tinyShakespeareHoldsOutTheLastTenthAndWindowsPairEachCharacterWithTheNext() throws Exception {
        CharCorpus corpus = CharCorpus.tinyShakespeare();
        assertEquals(65, corpus.vocabularySize());
        assertEquals(1_003_854, corpus.trainLength());
        assertEquals(111_540, corpus.heldOutLength());
        try (Scope s = Scope.open(); CharCorpus.Windows w = corpus.batch(true, 3, 16, new SplittableRandom(5))) {
            assertArrayEquals(new int[] {3, 16}, w.inputs().shape());
            long[] x = w.inputs().toLongArray(), y = w.targets().toLongArray();
            for (int b = 0; b < 3; b++)
                assertArrayEquals(Arrays.copyOfRange(x, b * 16 + 1, b * 16 + 16), Arrays.copyOfRange(y, b * 16, b * 16 + 15));
        }
        assertThrows(IllegalArgumentException.class, () -> corpus.batch(false, 2, 0, new SplittableRandom(1)));
    }
}
