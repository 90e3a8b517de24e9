package dev.kiln.testkit;

import dev.kiln.Attention;
import dev.kiln.DType;
import dev.kiln.Einsum;
import dev.kiln.Recurrent;
import dev.kiln.Scope;
import dev.kiln.Tensor;

import java.util.List;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static dev.kiln.testkit.Ref.f64;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Einsum, the recurrent layers and attention: values on paths the ONNX suite leaves open (checked against
 * simpler Kiln expressions that must agree), gradients by finite differences, and errors. The ONNX suite checks
 * the common paths' values against the ONNX reference.
 */
class SequenceOpsConformanceTest {
    private static final double TOL = 1e-10;

    private static Tensor rand(long seed, int... shape) { return f64(data(seed, Ref.numel(shape), -1, 1), shape); }

    // ---- einsum --------------------------------------------------------------------------------------------

    @BackendTest
    void einsumAgreesWithMatmulTransposeDiagonalAndSums(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor a = rand(1, 2, 3, 4), b = rand(2, 2, 4, 5), sq = rand(3, 2, 3, 3);
            assertClose(a.matmul(b).toDoubleArray(), Einsum.einsum("bij,bjk->bik", a, b), TOL, TOL, "batched matmul");
            assertClose(a.matmul(b).sum(new int[] {0}, false).toDoubleArray(), Einsum.einsum("bij,bjk", a, b), TOL, TOL,
                    "implicit output: labels seen once, alphabetically; b is summed");
            assertClose(a.permute(2, 0, 1).contiguous().toDoubleArray(), Einsum.einsum("abc->cab", a), 0, 0, "permutation");
            assertClose(a.sum(new int[] {1}, false).toDoubleArray(), Einsum.einsum("ijk->ik", a), TOL, TOL, "sum over a label");
            Tensor eye = Tensor.eye(3, DType.FLOAT64, null);
            assertClose(sq.mul(eye).sum(new int[] {2}, false).toDoubleArray(), Einsum.einsum("...ii->...i", sq), TOL, TOL, "batched diagonal");
            assertClose(new double[] {sq.select(0, 1).mul(eye).sum().item()}, Einsum.einsum("ii", sq.select(0, 1)).reshape(1), TOL, TOL, "trace");
            Tensor u = rand(4, 3), v = rand(5, 4);
            assertClose(u.unsqueeze(1).mul(v.unsqueeze(0)).contiguous().toDoubleArray(), Einsum.einsum("i,j->ij", u, v), TOL, TOL, "outer product");
            assertClose(a.matmul(b).sum(new int[] {2}, false).toDoubleArray(), Einsum.einsum("bij,bjk,k->bi", a, b, Tensor.ones(DType.FLOAT64, null, 5)),
                    TOL, TOL, "three operands");
            assertShape(Einsum.einsum("...i,...i->...", rand(6, 2, 1, 3), rand(7, 4, 3)), 2, 4);
            assertThrows(IllegalArgumentException.class, () -> Einsum.einsum("ij,jk->ik", a, b), "rank mismatch");
            assertThrows(IllegalArgumentException.class, () -> Einsum.einsum("ij->ij", a, b), "operand count");
        }
    }

    @BackendTest
    void einsumGradients(TestDevice device) {
        device.activate();
        GradCheck.check("einsum bij,bjk->bik", xs -> Einsum.einsum("bij,bjk->bik", xs[0], xs[1]),
                new double[][] {data(1, 12, -1, 1), data(2, 12, -1, 1)}, new int[][] {{2, 2, 3}, {2, 3, 2}});
        GradCheck.check("einsum ...ii->...i", x -> Einsum.einsum("...ii->...i", x), data(3, 18, -1, 1), 2, 3, 3);
        GradCheck.check("einsum i,i", xs -> Einsum.einsum("i,i", xs[0], xs[1]), new double[][] {data(4, 4, -1, 1), data(5, 4, -1, 1)},
                new int[][] {{4}, {4}});
    }

    // ---- recurrent layers ----------------------------------------------------------------------------------

    private static final int T = 4, B = 3, I = 2, H = 3;

    private static Recurrent.Output run(String kind, Tensor x, Tensor w, Tensor r, Tensor bias, Tensor h0, Tensor lens, Recurrent.Options o) {
        return switch (kind) {
            case "rnn" -> Recurrent.rnn(x, w, r, bias, h0, lens, o);
            case "gru" -> Recurrent.gru(x, w, r, bias, h0, lens, o);
            default -> Recurrent.lstm(x, w, r, bias, null, h0, null, lens, o);
        };
    }

    private static int gates(String kind) { return kind.equals("rnn") ? 1 : kind.equals("gru") ? 3 : 4; }

    @BackendTest
    void bidirectionalReverseAndSequenceLengthsAgreeWithPlainRuns(TestDevice device) {
        device.activate();
        for (String kind : List.of("rnn", "gru", "lstm")) {
            try (Scope s = Scope.open()) {
                int g = gates(kind);
                Tensor x = rand(10, T, B, I), w2 = rand(11, 2, g * H, I), r2 = rand(12, 2, g * H, H), b2 = rand(13, 2, 2 * g * H);
                Recurrent.Options fwd = Recurrent.Options.defaults();
                Recurrent.Output both = run(kind, x, w2, r2, b2, null, null, fwd.withDirection(Recurrent.Direction.BIDIRECTIONAL));
                assertShape(both.output(), T, 2, B, H);
                Recurrent.Output f = run(kind, x, w2.narrow(0, 0, 1), r2.narrow(0, 0, 1), b2.narrow(0, 0, 1), null, null, fwd);
                assertClose(f.output().toDoubleArray(), both.output().narrow(1, 0, 1).contiguous(), TOL, TOL, kind + " forward half");
                // The reverse direction is the forward cell run over the time-reversed input.
                Tensor flipped = Tensor.stack(List.of(x.select(0, 3), x.select(0, 2), x.select(0, 1), x.select(0, 0)), 0);
                Recurrent.Output rf = run(kind, flipped, w2.narrow(0, 1, 1), r2.narrow(0, 1, 1), b2.narrow(0, 1, 1), null, null, fwd);
                assertClose(rf.hidden().toDoubleArray(), both.hidden().narrow(0, 1, 1).contiguous(), TOL, TOL, kind + " reverse half");
                // Batch entry 1 has length 2: its states equal a run over its first two steps alone, and its outputs end in zeros.
                Tensor lens = Tensor.of(new long[] {4, 2, 3});
                Recurrent.Output cut = run(kind, x, w2, r2, b2, null, lens, fwd.withDirection(Recurrent.Direction.BIDIRECTIONAL));
                Recurrent.Output alone = run(kind, x.narrow(0, 0, 2).narrow(1, 1, 1), w2, r2, b2, null, null, fwd.withDirection(Recurrent.Direction.BIDIRECTIONAL));
                assertClose(alone.hidden().toDoubleArray(), cut.hidden().narrow(1, 1, 1).contiguous(), TOL, TOL, kind + " sequence length: final states");
                assertClose(alone.output().toDoubleArray(), cut.output().narrow(0, 0, 2).narrow(2, 1, 1).contiguous(), TOL, TOL, kind + " sequence length: outputs");
                assertClose(new double[2 * 2 * H], cut.output().narrow(0, 2, 2).narrow(2, 1, 1).contiguous(), 0, 0, kind + " steps past the length output 0");
                // Whole sequences take the sequence kernels (LSTM; GRU with the reset after the product): the same as
                // lengths that cut nothing, which run step by step.
                Recurrent.Options lbr = fwd.withDirection(Recurrent.Direction.BIDIRECTIONAL).withLinearBeforeReset(true);
                Recurrent.Output whole = run(kind, x, w2, r2, b2, null, null, lbr), stepwise = run(kind, x, w2, r2, b2, null, Tensor.of(new long[] {T, T, T}), lbr);
                assertClose(stepwise.output().toDoubleArray(), whole.output(), TOL, TOL, kind + " whole sequences: outputs");
                assertClose(stepwise.hidden().toDoubleArray(), whole.hidden(), TOL, TOL, kind + " whole sequences: final states");
                // batchFirst is a layout, nothing more.
                Recurrent.Output bf = run(kind, x.transpose(0, 1), w2.narrow(0, 0, 1), r2.narrow(0, 0, 1), b2.narrow(0, 0, 1), null, null, fwd.withBatchFirst(true));
                assertClose(f.output().permute(2, 0, 1, 3).contiguous().toDoubleArray(), bf.output(), TOL, TOL, kind + " batchFirst");
            }
        }
    }

    @BackendTest
    void recurrentOptionsChangeTheResultAsDocumented(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = rand(20, T, B, I).mul(4), w = rand(21, 1, 4 * H, I), r = rand(22, 1, 4 * H, H);
            Recurrent.Options o = Recurrent.Options.defaults();
            // A huge clip changes nothing; a clip of 0.1 bounds the RNN's pre-activations, so |h| <= tanh(0.1).
            Tensor rw = w.narrow(1, 0, H), rr = r.narrow(1, 0, H);
            assertClose(Recurrent.rnn(x, rw, rr, null, null, null, o).output().toDoubleArray(),
                    Recurrent.rnn(x, rw, rr, null, null, null, o.withClip(1e9)).output(), 0, 0, "clip 1e9");
            double bound = Recurrent.rnn(x, rw, rr, null, null, null, o.withClip(0.1)).output().abs().max().item();
            assertTrue(bound <= Math.tanh(0.1) + 1e-12, "clipped pre-activations bound the output, got " + bound);
            // An affine activation turns the RNN linear: h1 = x0 W^T for a zero initial state.
            Recurrent.Activation identity = new Recurrent.Activation(Recurrent.Activation.Kind.AFFINE, 1, 0);
            Tensor h1 = Recurrent.rnn(x, rw, rr, null, null, null, o.withActivations(List.of(identity))).output().select(0, 0).select(0, 0);
            assertClose(x.select(0, 0).matmul(rw.select(0, 0).t()).toDoubleArray(), h1, TOL, TOL, "affine activation");
            // GRU's two reset placements differ once the recurrence bias is non-zero; LSTM's coupled forget gate differs too.
            Tensor gw = w.narrow(1, 0, 3 * H), gr = r.narrow(1, 0, 3 * H), gb = rand(23, 1, 6 * H);
            double gap = Recurrent.gru(x, gw, gr, gb, null, null, o).output().sub(
                    Recurrent.gru(x, gw, gr, gb, null, null, o.withLinearBeforeReset(true)).output()).abs().max().item();
            assertTrue(gap > 1e-6, "linearBeforeReset must change the GRU");
            double forgetGap = Recurrent.lstm(x, w, r, null, null, null, null, null, o).output().sub(
                    Recurrent.lstm(x, w, r, null, null, null, null, null, o.withInputForget(true)).output()).abs().max().item();
            assertTrue(forgetGap > 1e-6, "inputForget must change the LSTM");
        }
    }

    @BackendTest
    void recurrentGradients(TestDevice device) {
        device.activate();
        int t = 3, b = 2, i = 2, h = 2;
        Recurrent.Options o = Recurrent.Options.defaults().withDirection(Recurrent.Direction.BIDIRECTIONAL).withLinearBeforeReset(true);
        for (String kind : List.of("rnn", "gru", "lstm")) {
            int g = gates(kind);
            double[][] inputs = {data(30, t * b * i, -1, 1), data(31, 2 * g * h * i, -1, 1), data(32, 2 * g * h * h, -1, 1),
                    data(33, 2 * 2 * g * h, -1, 1), data(34, 2 * b * h, -1, 1)};
            int[][] shapes = {{t, b, i}, {2, g * h, i}, {2, g * h, h}, {2, 2 * g * h}, {2, b, h}};
            GradCheck.check(kind + " bidirectional with lengths", xs -> {
                Recurrent.Output out = run(kind, xs[0], xs[1], xs[2], xs[3], xs[4], Tensor.of(new long[] {3, 2}), o);
                return out.output().sum(new int[] {3}, false).add(out.hidden().sum());
            }, inputs, shapes);
            GradCheck.check(kind + " bidirectional, whole sequences", xs -> {
                Recurrent.Output out = run(kind, xs[0], xs[1], xs[2], xs[3], xs[4], null, o);
                return out.output().sum(new int[] {3}, false).add(out.hidden().mul(out.hidden()).sum());
            }, inputs, shapes);
        }
        Recurrent.Options relu = Recurrent.Options.defaults().withActivations(List.of(Recurrent.Activation.RELU));
        GradCheck.check("rnn relu, whole sequences", xs -> Recurrent.rnn(xs[0], xs[1], xs[2], xs[3], null, null, relu).output(),
                new double[][] {data(44, t * b * i, -1, 1), data(45, h * i, -1, 1), data(46, h * h, -1, 1), data(47, 2 * h, -1, 1)},
                new int[][] {{t, b, i}, {1, h, i}, {1, h, h}, {1, 2 * h}});
        try (Scope s = Scope.open()) {
            Tensor x = rand(48, t, b, i), w = rand(49, 1, h, i), r = rand(50, 1, h, h);
            assertClose(Recurrent.rnn(x, w, r, null, null, Tensor.of(new long[] {t, t}), relu).output().toDoubleArray(),
                    Recurrent.rnn(x, w, r, null, null, null, relu).output(), TOL, TOL, "rnn relu: whole sequence against step by step");
        }
        GradCheck.check("gru without biases or initial state", xs -> Recurrent.gru(xs[0], xs[1], xs[2], null, null, null,
                        Recurrent.Options.defaults().withLinearBeforeReset(true)).output(),
                new double[][] {data(41, t * b * i, -1, 1), data(42, 3 * h * i, -1, 1), data(43, 3 * h * h, -1, 1)},
                new int[][] {{t, b, i}, {1, 3 * h, i}, {1, 3 * h, h}});
        GradCheck.check("lstm peepholes, initial cell, coupled gates", xs -> {
            Recurrent.Output out = Recurrent.lstm(xs[0], xs[1], xs[2], null, xs[3], null, xs[4], null, Recurrent.Options.defaults().withInputForget(true));
            return out.output().add(out.cell().unsqueeze(0));
        }, new double[][] {data(36, t * b * i, -1, 1), data(37, 4 * h * i, -1, 1), data(38, 4 * h * h, -1, 1), data(39, 3 * h, -1, 1), data(40, b * h, -1, 1)},
                new int[][] {{t, b, i}, {1, 4 * h, i}, {1, 4 * h, h}, {1, 3 * h}, {1, b, h}});
    }

    @BackendTest
    void recurrentErrors(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = rand(40, T, B, I), w = rand(41, 1, 4 * H, I), r = rand(42, 1, 4 * H, H);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Recurrent.gru(x, w, r, null, null, null, Recurrent.Options.defaults()));
            assertTrue(e.getMessage().contains("gru"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> Recurrent.lstm(x, w, r, rand(43, 1, 3), null, null, null, null, Recurrent.Options.defaults()));
            assertThrows(IllegalArgumentException.class, () -> Recurrent.Options.defaults().withClip(0));
        }
    }

    // ---- attention -----------------------------------------------------------------------------------------

    @BackendTest
    void attentionMasksCausalityHeadsAndCacheAgree(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor q = rand(50, 2, 4, 3, 5), k = rand(51, 2, 2, 6, 5), v = rand(52, 2, 2, 6, 7);
            Attention.Options o = Attention.Options.defaults();
            // Grouped heads equal the key/value heads repeated explicitly (head h serves query heads 2h, 2h+1).
            Tensor kr = Tensor.stack(List.of(k.select(1, 0), k.select(1, 0), k.select(1, 1), k.select(1, 1)), 1);
            Tensor vr = Tensor.stack(List.of(v.select(1, 0), v.select(1, 0), v.select(1, 1), v.select(1, 1)), 1);
            Tensor y = Attention.scaledDotProduct(q, k, v, null, o);
            assertShape(y, 2, 4, 3, 7);
            assertClose(Attention.scaledDotProduct(q, kr, vr, null, o).toDoubleArray(), y, TOL, TOL, "grouped-query heads");
            // By hand: softmax(q k^T / sqrt(5)) v.
            assertClose(q.matmul(kr.mT()).mul(1 / Math.sqrt(5)).softmax(-1).matmul(vr).toDoubleArray(), y, TOL, TOL, "definition");
            // Causal with a cache of P = 3 keys is the boolean mask j <= i + 3.
            boolean[] allowed = new boolean[3 * 6];
            for (int i = 0; i < 3; i++) for (int j = 0; j < 6; j++) allowed[i * 6 + j] = j <= i + 3;
            Tensor mask = Tensor.of(allowed, 3, 6);
            Attention.Output cached = Attention.attention(q, k.narrow(2, 3, 3), v.narrow(2, 3, 3), null, k.narrow(2, 0, 3), v.narrow(2, 0, 3),
                    o.withCausal(true), Attention.Scores.PROBABILITIES);
            assertClose(Attention.scaledDotProduct(q, k, v, mask, o).toDoubleArray(), cached.output(), TOL, TOL, "causal with a cache");
            assertClose(k.contiguous().toDoubleArray(), cached.key(), 0, 0, "present key = past ++ new");
            // An additive mask of 0 / -inf is the boolean mask; a short mask is padded with masked keys.
            Tensor additive = Tensor.where(mask, Tensor.zeros(DType.FLOAT64, null), Tensor.full(Double.NEGATIVE_INFINITY, DType.FLOAT64, null));
            assertClose(Attention.scaledDotProduct(q, k, v, mask, o).toDoubleArray(), Attention.scaledDotProduct(q, k, v, additive, o), TOL, TOL, "additive mask");
            assertClose(Attention.scaledDotProduct(q, k.narrow(2, 0, 4), v.narrow(2, 0, 4), null, o).toDoubleArray(),
                    Attention.scaledDotProduct(q, k, v, Tensor.ones(DType.FLOAT64, null, 3, 4).mul(0), o), TOL, TOL, "short mask");
            // Soft-capping bounds the scores; a fully masked row attends to nothing.
            Tensor capped = Attention.attention(q.mul(50), k, v, null, null, null, o.withSoftcap(2), Attention.Scores.SOFTCAPPED).scores();
            assertTrue(capped.abs().max().item() <= 2, "softcap bounds the scores");
            boolean[] none = new boolean[3 * 6];
            for (int j = 0; j < 6; j++) none[6 + j] = true;
            Tensor y0 = Attention.scaledDotProduct(q, k, v, Tensor.of(none, 3, 6), o);
            assertClose(new double[2 * 4 * 7], y0.narrow(2, 0, 1).contiguous(), 0, 0, "fully masked rows give 0");
            Tensor x3 = rand(53, 2, 3, 8);
            assertClose(x3.toDoubleArray(), Attention.mergeHeads(Attention.splitHeads(x3, 4)).contiguous(), 0, 0, "split/merge heads");
            assertThrows(IllegalArgumentException.class, () -> Attention.scaledDotProduct(q, rand(54, 2, 3, 6, 5), rand(55, 2, 3, 6, 5), null, o),
                    "4 query heads cannot share 3 key heads");
        }
    }

    @BackendTest
    void attentionGradients(TestDevice device) {
        device.activate();
        boolean[] keep = {true, true, false, true, true, true, false, true, true, false, false, false};
        GradCheck.check("attention gqa, mask, causal, softcap, cache", xs -> Attention.attention(xs[0], xs[1], xs[2], Tensor.of(keep, 3, 4),
                xs[3], xs[4], Attention.Options.defaults().withCausal(true).withSoftcap(1.5).withScale(0.7), null).output(),
                new double[][] {data(60, 2 * 3 * 2, -1, 1), data(61, 2 * 2, -1, 1), data(62, 2 * 3, -1, 1), data(63, 2 * 2, -1, 1), data(64, 2 * 3, -1, 1)},
                new int[][] {{1, 2, 3, 2}, {1, 1, 2, 2}, {1, 1, 2, 3}, {1, 1, 2, 2}, {1, 1, 2, 3}});
        GradCheck.check("attention additive mask", xs -> Attention.scaledDotProduct(xs[0], xs[1], xs[2], xs[3], Attention.Options.defaults()),
                new double[][] {data(65, 6, -1, 1), data(66, 8, -1, 1), data(67, 8, -1, 1), data(68, 12, -1, 1)},
                new int[][] {{1, 1, 3, 2}, {1, 1, 4, 2}, {1, 1, 4, 2}, {3, 4}});
    }
}
