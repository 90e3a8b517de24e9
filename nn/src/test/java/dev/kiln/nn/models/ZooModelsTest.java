package dev.kiln.nn.models;

import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The zoo's sequence and embedding models: the properties their recipes rely on. */
class ZooModelsTest {

    private static double maxDifference(Tensor a, Tensor b) { return a.sub(b).abs().max().item(); }

    @Test
    void transformerXlWithMemoryGivesTheSameLogitsAsOneLongSegment() {
        Kiln.manualSeed(3);
        try (Scope s = Scope.open(); GradMode ng = GradMode.noGrad(); TransformerXl xl = new TransformerXl(new TransformerXl.Config(11, 16, 2, 2, 32, 6))) {
            xl.eval();
            Tensor tokens = Tensor.randint(0, 11, 2, 12);
            Tensor whole = xl.forward(tokens);
            TransformerXl.Output first = xl.forward(tokens.narrow(1, 0, 6), List.of());
            assertEquals(2, first.memory().size());
            assertArrayEquals(new int[] {2, 6, 16}, first.memory().get(0).shape());
            TransformerXl.Output second = xl.forward(tokens.narrow(1, 6, 6), first.memory());
            first.memory().forEach(Tensor::close);
            second.memory().forEach(Tensor::close);
            assertTrue(maxDifference(whole.narrow(1, 0, 6), first.logits()) < 1e-4);
            assertTrue(maxDifference(whole.narrow(1, 6, 6), second.logits()) < 1e-4, "the second segment attends to the first through the memory");
            // Without memory the second segment sees nothing of the first, so its logits differ.
            Tensor alone = xl.forward(tokens.narrow(1, 6, 6));
            assertTrue(maxDifference(whole.narrow(1, 6, 6), alone) > 1e-3);
        }
    }

    @Test
    void seq2seqGreedyDecodingMatchesTeacherForcingOnItsOwnOutput() {
        Kiln.manualSeed(4);
        Seq2SeqTransformer.Config c = new Seq2SeqTransformer.Config(9, 8, 16, 2, 1, 2, 32, 0.0, 0);
        try (Scope s = Scope.open(); Seq2SeqTransformer model = new Seq2SeqTransformer(c)) {
            Tensor source = Tensor.of(new long[] {3, 4, 5, 0, 6, 7, 8, 5}, 2, 4);
            Tensor decoded = model.greedyDecode(source, 1, 5);
            assertArrayEquals(new int[] {2, 5}, decoded.shape());
            // Feeding [begin, decoded...] with teacher forcing must pick the same tokens: the cache changes nothing.
            Tensor input = Tensor.cat(List.of(Tensor.full(1, dev.kiln.DType.INT64, null, 2, 1), decoded.narrow(1, 0, 4)), 1);
            try (GradMode ng = GradMode.noGrad()) {
                model.eval();
                assertArrayEquals(decoded.toLongArray(), model.forward(source, input).argmax(-1, false).toLongArray());
            }
            assertThrows(IllegalArgumentException.class, () -> model.greedyDecode(source, 1, 8));
        }
    }

    @Test
    void transEScoresEveryEntityByItsNegatedDistance() {
        Kiln.manualSeed(5);
        try (Scope s = Scope.open(); TransE model = new TransE(6, 2, 4)) {
            model.normalizeEntities();
            Tensor norms = model.namedParameters().get("entity.weight").norm(2, new int[] {1}, false);
            assertTrue(maxDifference(norms, Tensor.full(1, 6)) < 1e-5);
            Tensor head = Tensor.of(new long[] {0, 3}, 2), rel = Tensor.of(new long[] {1, 0}, 2);
            float[] tails = model.scoreAll(head, rel, true).toFloatArray(), heads = model.scoreAll(head, rel, false).toFloatArray();
            for (int q = 0; q < 2; q++)
                for (int e = 0; e < 6; e++) {
                    long h = q == 0 ? 0 : 3, r = q == 0 ? 1 : 0;
                    double asTail = model.distance(Tensor.of(new long[] {h}, 1), Tensor.of(new long[] {r}, 1), Tensor.of(new long[] {e}, 1)).item();
                    double asHead = model.distance(Tensor.of(new long[] {e}, 1), Tensor.of(new long[] {r}, 1), Tensor.of(new long[] {h}, 1)).item();
                    assertEquals(-asTail, tails[q * 6 + e], 1e-4);
                    assertEquals(-asHead, heads[q * 6 + e], 1e-4);
                }
            assertThrows(IllegalArgumentException.class, () -> model.forward(Tensor.zeros(2, 3)));
        }
    }
}
