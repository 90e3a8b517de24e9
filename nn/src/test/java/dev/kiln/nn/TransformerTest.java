package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.kiln.nn.Check.close;
import static dev.kiln.nn.Check.data;
import static dev.kiln.nn.Check.f64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Transformer encoder and decoder layers, stacks and the full model: wiring, shapes, caching and gradients. */
class TransformerTest {
    private static final TransformerOptions TINY = TransformerOptions.defaults().withDimFeedforward(6).withDropout(0);

    /** x (rows, e) layer-normalised per row with the norm's own weight and bias, in plain Java. */
    private static double[] layerNorm(double[] x, int e, Module norm) {
        double[] w = norm.namedParameters().get("weight").toDoubleArray(), b = norm.namedParameters().get("bias").toDoubleArray();
        double[] y = new double[x.length];
        for (int r = 0; r < x.length / e; r++) {
            double mean = 0, var = 0;
            for (int k = 0; k < e; k++) mean += x[r * e + k] / e;
            for (int k = 0; k < e; k++) var += (x[r * e + k] - mean) * (x[r * e + k] - mean) / e;
            for (int k = 0; k < e; k++) y[r * e + k] = (x[r * e + k] - mean) / Math.sqrt(var + 1e-5) * w[k] + b[k];
        }
        return y;
    }

    private static double[] plus(double[] a, double[] b) {
        double[] y = a.clone();
        for (int i = 0; i < y.length; i++) y[i] += b[i];
        return y;
    }

    @Test
    void decoderLayerPlacesNormsAfterOrBeforeEachResidual() {
        try (Scope s = Scope.open()) {
            for (boolean normFirst : new boolean[] {false, true}) {
                Kiln.manualSeed(31);
                int e = 4, t = 3, src = 2, batch = 2;
                TransformerDecoderLayer layer = new TransformerDecoderLayer(e, 2, TINY.withNormFirst(normFirst));
                dev.kiln.testkit.TestDevice.requireFloat64();
                layer.to(DType.FLOAT64);
                // Non-trivial norms, so a misplaced one shows.
                for (String n : List.of("norm1", "norm2", "norm3"))
                    try (var g = dev.kiln.autograd.GradMode.noGrad()) {
                        layer.children().get(n).namedParameters().get("weight").copy_(f64(data(n.hashCode(), e, 0.5, 1.5), e));
                        layer.children().get(n).namedParameters().get("bias").copy_(f64(data(n.hashCode() + 1, e, -0.5, 0.5), e));
                    }
                Tensor tgt = f64(data(32, t * batch * e, -1, 1), t, batch, e), memory = f64(data(33, src * batch * e, -1, 1), src, batch, e);
                MultiheadAttention self = (MultiheadAttention) layer.children().get("self_attn"), cross = (MultiheadAttention) layer.children().get("multihead_attn");
                MultiheadAttention.Options causal = MultiheadAttention.Options.none().withCausal(true);
                java.util.function.UnaryOperator<Tensor> sa = h -> self.forward(h, h, h, causal).output(), ca = h -> cross.forward(h, memory, memory);
                java.util.function.UnaryOperator<Tensor> ff = h -> layer.children().get("linear2").forward(layer.children().get("linear1").forward(h).relu());
                double[] x = tgt.toDoubleArray();
                List<java.util.function.UnaryOperator<Tensor>> blocks = List.of(sa, ca, ff);
                for (int i = 0; i < 3; i++) {
                    Module norm = layer.children().get("norm" + (i + 1));
                    if (normFirst) x = plus(x, blocks.get(i).apply(f64(layerNorm(x, e, norm), t, batch, e)).toDoubleArray());
                    else x = layerNorm(plus(x, blocks.get(i).apply(f64(x, t, batch, e)).toDoubleArray()), e, norm);
                }
                close(x, layer.forward(tgt, memory, causal, null).toDoubleArray(), 1e-12, "decoder layer, normFirst=" + normFirst);
            }
        }
    }

    @Test
    void decoderLayerWithACacheDecodesStepByStepAsCausalDecodingDoes() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(34);
            int e = 4, len = 4, src = 3, batch = 2;
            TransformerDecoderLayer layer = new TransformerDecoderLayer(e, 2, TINY.withBatchFirst(true));
            dev.kiln.testkit.TestDevice.requireFloat64();
            layer.to(DType.FLOAT64);
            Tensor tgt = f64(data(35, batch * len * e, -1, 1), batch, len, e), memory = f64(data(36, batch * src * e, -1, 1), batch, src, e);
            double[] full = layer.forward(tgt, memory, MultiheadAttention.Options.none().withCausal(true), null).toDoubleArray();
            try (MultiheadAttention.KVCache cache = new MultiheadAttention.KVCache()) {
                for (int t = 0; t < len; t++) {
                    double[] got = layer.forward(tgt.narrow(1, t, 1), memory, MultiheadAttention.Options.none().withCausal(true).withCache(cache), null).toDoubleArray();
                    for (int b = 0; b < batch; b++) {
                        int at = (b * len + t) * e;
                        close(java.util.Arrays.copyOfRange(full, at, at + e), java.util.Arrays.copyOfRange(got, b * e, (b + 1) * e), 1e-12, "step " + t);
                    }
                }
            }
            // A stack decodes incrementally with one cache per layer.
            TransformerDecoder stack = new TransformerDecoder(() -> new TransformerDecoderLayer(e, 2, TINY.withBatchFirst(true)), 2, new LayerNorm(e));
            dev.kiln.testkit.TestDevice.requireFloat64();
            stack.to(DType.FLOAT64);
            MultiheadAttention.Options causal = MultiheadAttention.Options.none().withCausal(true);
            double[] whole = stack.forward(tgt, memory, causal, null).toDoubleArray();
            List<MultiheadAttention.KVCache> caches = List.of(new MultiheadAttention.KVCache(), new MultiheadAttention.KVCache());
            for (int t = 0; t < len; t++) {
                double[] got = stack.forward(tgt.narrow(1, t, 1), memory, causal, null, caches).toDoubleArray();
                for (int b = 0; b < batch; b++) {
                    int at = (b * len + t) * e;
                    close(java.util.Arrays.copyOfRange(whole, at, at + e), java.util.Arrays.copyOfRange(got, b * e, (b + 1) * e), 1e-12, "stack step " + t);
                }
            }
            caches.forEach(MultiheadAttention.KVCache::close);
        }
    }

    @Test
    void transformerHasPyTorchStructureShapesAndGradients() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(37);
            Transformer model = new Transformer(4, 2, 2, 1, TINY);
            List<String> names = List.copyOf(model.namedParameters().keySet());
            for (String n : List.of("encoder.layers.1.self_attn.in_proj_weight", "encoder.layers.0.linear1.weight", "encoder.norm.weight",
                    "decoder.layers.0.multihead_attn.out_proj.bias", "decoder.layers.0.norm3.bias", "decoder.norm.bias"))
                assertTrue(names.contains(n), n + " in " + names);
            Tensor src = Tensor.randn(5, 2, 4), tgt = Tensor.randn(3, 2, 4);
            Check.assertShape(new int[] {3, 2, 4}, model.forward(src, tgt, null, MultiheadAttention.Options.none().withCausal(true), null));
            Transformer batchFirst = new Transformer(4, 2, 1, 1, TINY.withBatchFirst(true).withNormFirst(true));
            Check.assertShape(new int[] {2, 3, 4}, batchFirst.forward(Tensor.randn(2, 5, 4), Tensor.randn(2, 3, 4)));
            assertThrows(IllegalArgumentException.class, () -> model.decoder().forward(tgt, src,
                    MultiheadAttention.Options.none().withCache(new MultiheadAttention.KVCache()), null));

            Kiln.manualSeed(38);
            Transformer tiny = new Transformer(4, 2, 1, 1, TINY);
            Tensor source = f64(data(39, 3 * 2 * 4, -1, 1), 3, 2, 4);
            Tensor pad = Tensor.of(new boolean[] {false, false, true, false, false, false}, 2, 3);
            MultiheadAttention.Options srcMasks = MultiheadAttention.Options.none().withKeyPaddingMask(pad);
            Check.moduleGrads("transformer", tiny, f64(data(40, 2 * 2 * 4, -1, 1), 2, 2, 4).requiresGrad(true),
                    t -> tiny.forward(source, t, srcMasks, MultiheadAttention.Options.none().withCausal(true), srcMasks));
        }
    }

    @Test
    void preNormEncoderLayerHasGradientsAndGeluWorks() {
        try (Scope s = Scope.open()) {
            Kiln.manualSeed(41);
            TransformerEncoderLayer layer = new TransformerEncoderLayer(4, 2, TINY.withNormFirst(true).withActivation(TransformerOptions.FeedForwardActivation.GELU));
            Check.moduleGrads("pre-norm encoder layer", layer, f64(data(42, 3 * 2 * 4, -1, 1), 3, 2, 4).requiresGrad(true), layer::forward);
            TransformerEncoder stack = new TransformerEncoder(() -> new TransformerEncoderLayer(4, 2, TINY), 3, null);
            assertEquals(List.of("layers"), List.copyOf(stack.children().keySet()));
            Check.assertShape(new int[] {3, 2, 4}, stack.forward(Tensor.randn(3, 2, 4)));
        }
    }
}
