package dev.kiln.nn.data;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The triple loaders' sizes as their sources document them, and filtered ranking on a graph small enough to rank by hand. */
class KnowledgeGraphTest {

    @Test
    void bundledGraphsHaveTheirDocumentedSizes() throws Exception {
        KnowledgeGraph wn = KnowledgeGraph.load(KnowledgeGraph.Bundled.WN18RR);
        assertEquals(40_943, wn.entities());
        assertEquals(11, wn.relations());
        assertEquals(86_835, wn.train().size());
        assertEquals(3_034, wn.validation().size());
        assertEquals(3_134, wn.test().size());
        KnowledgeGraph umls = KnowledgeGraph.load(KnowledgeGraph.Bundled.UMLS);
        assertEquals(135, umls.entities());
        assertEquals(46, umls.relations());
        assertEquals(5_216, umls.train().size());
        assertEquals(652, umls.validation().size());
        assertEquals(661, umls.test().size());
    }

    @Test
    void filteredRankSkipsOtherKnownAnswersAndSplitsTies() throws Exception {
        // Entities are numbered as they appear: a=0, b=1, d=2, c=3; relation r=0. (a, r, b) is known from training,
        // (a, r, c) is the test triple.
        KnowledgeGraph g = KnowledgeGraph.parse("a\tr\tb\nd\tr\td\n", "", "a\tr\tc\n");
        assertEquals(4, g.entities());
        int a = 0, r = 0, c = 3;
        // Tail scores: b (a known tail, filtered) and d above c; a below it.
        float[] scores = {0.1f, 0.9f, 0.7f, 0.5f};
        assertEquals(2.0, g.filteredRank(a, r, c, true, scores));
        // A tie with d counts half.
        assertEquals(1.5, g.filteredRank(a, r, c, true, new float[] {0.1f, 0.9f, 0.5f, 0.5f}));
        // Head query (?, r, c): only a is a known head of c; everything above a counts (b, d, c).
        assertEquals(4.0, g.filteredRank(a, r, c, false, new float[] {0.0f, 0.3f, 0.1f, 0.2f}));
        assertThrows(IllegalArgumentException.class, () -> g.filteredRank(a, r, c, true, new float[3]));
        assertThrows(java.io.IOException.class, () -> KnowledgeGraph.parse("a\tr\n", "", ""));
    }

    @Test
    void rankingMetricsAverageReciprocalRanksAndCountHits() {
        KnowledgeGraph.RankingMetrics m = new KnowledgeGraph.RankingMetrics();
        for (double rank : new double[] {1, 2, 4, 20}) m.add(rank);
        assertEquals((1 + 0.5 + 0.25 + 0.05) / 4, m.mrr(), 1e-12);
        assertEquals(0.25, m.hitsAt1());
        assertEquals(0.5, m.hitsAt3());
        assertEquals(0.75, m.hitsAt10());
    }
}
