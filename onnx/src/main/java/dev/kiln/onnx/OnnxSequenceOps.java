package dev.kiln.onnx;

import dev.kiln.Attention;
import dev.kiln.Recurrent;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Mappings of ONNX's sequence ops (RNN, GRU, LSTM, Attention) onto {@link Recurrent} and {@link Attention}. */
final class OnnxSequenceOps {
    private OnnxSequenceOps() {}

    static void register(Map<String, OnnxOps.Mapping> ops) {
        ops.put("RNN", c -> {
            Recurrent.Options o = recurrentOptions(c);
            Recurrent.Output out = Recurrent.rnn(c.input(0), c.input(1), c.input(2), c.optionalInput(3), c.optionalInput(5), c.optionalInput(4), o);
            return new Tensor[] {out.output(), out.hidden()};
        });
        ops.put("GRU", c -> {
            Recurrent.Options o = recurrentOptions(c).withLinearBeforeReset(c.boolAttr("linear_before_reset", false));
            Recurrent.Output out = Recurrent.gru(c.input(0), c.input(1), c.input(2), c.optionalInput(3), c.optionalInput(5), c.optionalInput(4), o);
            return new Tensor[] {out.output(), out.hidden()};
        });
        ops.put("LSTM", c -> {
            Recurrent.Options o = recurrentOptions(c).withInputForget(c.boolAttr("input_forget", false));
            Recurrent.Output out = Recurrent.lstm(c.input(0), c.input(1), c.input(2), c.optionalInput(3), c.optionalInput(7),
                    c.optionalInput(5), c.optionalInput(6), c.optionalInput(4), o);
            return new Tensor[] {out.output(), out.hidden(), out.cell()};
        });
        ops.put("Attention", OnnxSequenceOps::attention);
    }

    /** The attributes RNN, GRU and LSTM share; hidden_size is checked against the weights. */
    private static Recurrent.Options recurrentOptions(OnnxCall c) {
        long hidden = c.intAttr("hidden_size", -1);
        if (hidden >= 0 && c.input(2).size(2) != hidden)
            throw new IllegalArgumentException(c.op() + ": hidden_size " + hidden + " does not match R " + java.util.Arrays.toString(c.input(2).shape()));
        String direction = c.stringAttr("direction", "forward");
        Recurrent.Options o = Recurrent.Options.defaults()
                .withDirection(Recurrent.Direction.valueOf(direction.toUpperCase(Locale.ROOT)))
                .withBatchFirst(c.opset() >= 14 && c.intAttr("layout", 0) == 1)
                .withActivations(activations(c));
        float clip = c.floatAttr("clip", Float.POSITIVE_INFINITY);
        return o.withClip(clip);
    }

    /** ONNX lists activations by name; alphas and betas are consumed in order by the activations that take them. */
    private static List<Recurrent.Activation> activations(OnnxCall c) {
        List<String> names = c.stringsAttr("activations", List.of());
        float[] alphas = c.floatsAttr("activation_alpha", new float[0]), betas = c.floatsAttr("activation_beta", new float[0]);
        List<Recurrent.Activation> out = new ArrayList<>();
        int ai = 0, bi = 0;
        for (String name : names) {
            Recurrent.Activation.Kind kind = switch (name.toLowerCase(Locale.ROOT)) {
                case "relu" -> Recurrent.Activation.Kind.RELU;
                case "tanh" -> Recurrent.Activation.Kind.TANH;
                case "sigmoid" -> Recurrent.Activation.Kind.SIGMOID;
                case "affine" -> Recurrent.Activation.Kind.AFFINE;
                case "leakyrelu" -> Recurrent.Activation.Kind.LEAKY_RELU;
                case "thresholdedrelu" -> Recurrent.Activation.Kind.THRESHOLDED_RELU;
                case "scaledtanh" -> Recurrent.Activation.Kind.SCALED_TANH;
                case "hardsigmoid" -> Recurrent.Activation.Kind.HARD_SIGMOID;
                case "elu" -> Recurrent.Activation.Kind.ELU;
                case "softsign" -> Recurrent.Activation.Kind.SOFTSIGN;
                case "softplus" -> Recurrent.Activation.Kind.SOFTPLUS;
                default -> throw new IllegalArgumentException(c.op() + ": unknown activation '" + name + "'");
            };
            double alpha = kind.usesAlpha() && ai < alphas.length ? alphas[ai++] : kind.defaultAlpha();
            double beta = kind.usesBeta() && bi < betas.length ? betas[bi++] : kind.defaultBeta();
            out.add(new Recurrent.Activation(kind, alpha, beta));
        }
        return out;
    }

    private static Tensor[] attention(OnnxCall c) {
        if (c.optionalInput(6) != null)
            throw new IllegalArgumentException("Attention: nonpad_kv_seqlen (opset 24) is not mapped");
        if (c.hasAttr("softmax_precision")) {
            long precision = c.intAttr("softmax_precision", 0);
            if (OnnxOps.dtypeOf(precision, "Attention") != c.input(0).dtype())
                throw new IllegalArgumentException("Attention: softmax_precision " + precision + " differs from the input type; Kiln's softmax runs in the input's type");
        }
        Tensor q = c.input(0), k = c.input(1), v = c.input(2);
        boolean split = q.dim() == 3;
        if (split) {
            q = Attention.splitHeads(q, (int) c.intAttr("q_num_heads", -1));
            int kvHeads = (int) c.intAttr("kv_num_heads", -1);
            k = Attention.splitHeads(k, kvHeads);
            v = Attention.splitHeads(v, kvHeads);
        } else {
            // 4-D inputs carry their head counts; the attributes, when given, must agree.
            checkHeads(c, "q_num_heads", q.size(1));
            checkHeads(c, "kv_num_heads", k.size(1));
        }
        Attention.Options o = Attention.Options.defaults()
                .withCausal(c.boolAttr("is_causal", false))
                .withSoftcap(c.floatAttr("softcap", 0f));
        if (c.hasAttr("scale")) o = o.withScale(c.floatAttr("scale", Float.NaN));
        long mode = c.intAttr("qk_matmul_output_mode", 0);
        Attention.Scores stage = switch ((int) mode) {
            case 0 -> Attention.Scores.SCALED;
            case 1 -> Attention.Scores.SOFTCAPPED;
            case 2 -> Attention.Scores.MASKED;
            case 3 -> Attention.Scores.PROBABILITIES;
            default -> throw new IllegalArgumentException("Attention: unknown qk_matmul_output_mode " + mode);
        };
        Attention.Output out = Attention.attention(q, k, v, c.optionalInput(3), c.optionalInput(4), c.optionalInput(5), o,
                c.wantsOutput(3) ? stage : null);
        Tensor y = split ? Attention.mergeHeads(out.output()) : out.output();
        return new Tensor[] {y, out.key(), out.value(), out.scores()};
    }

    private static void checkHeads(OnnxCall c, String attr, int actual) {
        long given = c.intAttr(attr, actual);
        if (given != actual) throw new IllegalArgumentException("Attention: " + attr + " " + given + " but the 4-D input has " + actual + " heads");
    }
}
