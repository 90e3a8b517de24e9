package dev.kiln;

import dev.kiln.autograd.GradMode;

import java.util.Arrays;

/**
 * Loss functions with PyTorch's semantics, composed from differentiable ops. Classification losses take the
 * class dimension at 1 ((N, C) or (N, C, d1, ...)), or at 0 for a single unbatched (C) sample.
 */
final class Losses {
    private Losses() {}

    /** PyTorch's default {@code ignore_index}. */
    static final int DEFAULT_IGNORE_INDEX = -100;

    private static Tensor reduce(Tensor loss, Reduction reduction) {
        return switch (reduction) {
            case NONE -> loss;
            case MEAN -> loss.mean();
            case SUM -> loss.sum();
        };
    }

    /** Like {@link #reduce}, but MEAN divides by the summed per-element weights (PyTorch's weighted mean). */
    private static Tensor reduceWeighted(Tensor loss, Tensor weights, Reduction reduction) {
        return reduction == Reduction.MEAN ? loss.sum().div(weights.sum()) : reduce(loss, reduction);
    }

    // ---- classification ------------------------------------------------------------------------------------

    /** Per-element {@code -weight[t] * input[t]} for class-index targets, and the weight each element carries. */
    private record Picked(Tensor loss, Tensor weights) {}

    private static Picked pick(String op, Tensor input, Tensor target, Tensor weight, int ignoreIndex) {
        Tensor ignored = target.eq(ignoreIndex);
        Tensor safe = Tensor.where(ignored, Tensor.zerosLike(target), target);
        int classes = input.size(1);
        // Targets equal to ignore_index became 0 in safe, so the check sees only the targets that count.
        if (safe.numel() > 0) safe.backend().checkIndex(op + " target", safe.view, classes);
        Tensor valid = ignored.logicalNot().to(input.dtype());
        Tensor w = weight == null ? valid : weight.indexSelect(0, safe.reshape(-1)).reshape(target.shape()).mul(valid);
        Tensor picked = Indexing.gatherChecked(input, 1, safe.unsqueeze(1)).squeeze(1);
        return new Picked(picked.mul(w).neg(), w);
    }

    static Tensor nllLoss(Tensor input, Tensor target, Tensor weight, int ignoreIndex, Reduction reduction) {
        return classification("nll_loss", input, target, weight, ignoreIndex, reduction, 0, false);
    }

    /**
     * Cross entropy of logits against class indices (an integer target) or class probabilities (a floating target
     * of the input's shape), with optional class weights, ignore_index (indices only) and label smoothing.
     */
    static Tensor crossEntropy(Tensor input, Tensor target, Tensor weight, int ignoreIndex, Reduction reduction, double labelSmoothing) {
        return classification("cross_entropy", input, target, weight, ignoreIndex, reduction, labelSmoothing, true);
    }

    private static Tensor classification(String op, Tensor input, Tensor target, Tensor weight, int ignoreIndex, Reduction reduction,
                                         double labelSmoothing, boolean fromLogits) {
        Elementwise.sameDevice(op, input, target);
        if (input.dim() == 1) {
            // One unbatched sample: the class dimension moves to 1 and the lone batch entry goes away again.
            try (Tensor in = input.unsqueeze(0); Tensor t = target.unsqueeze(0);
                 Tensor out = classification(op, in, t, weight, ignoreIndex, reduction, labelSmoothing, fromLogits)) {
                return reduction == Reduction.NONE ? out.squeeze(0) : out.reshape();
            }
        }
        checkClassification(op, input, target, weight, labelSmoothing, fromLogits);
        int classes = input.size(1);
        try (Scope scope = Scope.open()) {
            Tensor logp = fromLogits ? input.logSoftmax(1) : input;
            Tensor loss;
            if (target.dtype().isFloatingPoint()) {
                Tensor t = labelSmoothing > 0 ? target.mul(1 - labelSmoothing).add(labelSmoothing / classes) : target;
                Tensor terms = logp.mul(t);
                if (weight != null) terms = terms.mul(alongClasses(weight, input.dim()));
                loss = reduce(terms.sum(1).neg(), reduction);
            } else {
                Picked nll = pick(op, logp, target, weight, ignoreIndex);
                loss = reduceWeighted(nll.loss(), nll.weights(), reduction);
                if (labelSmoothing > 0) {
                    // PyTorch: (1 - eps) * nll + eps / C * (-sum_c w_c logp_c), the second term masked and reduced
                    // with the nll's weights.
                    Tensor all = weight == null ? logp : logp.mul(alongClasses(weight, input.dim()));
                    Tensor valid = target.ne(ignoreIndex).to(input.dtype());
                    Tensor smooth = reduceWeighted(all.sum(1).neg().mul(valid), nll.weights(), reduction);
                    loss = loss.mul(1 - labelSmoothing).add(smooth.mul(labelSmoothing / classes));
                }
            }
            return scope.keep(loss);
        }
    }

    private static void checkClassification(String op, Tensor input, Tensor target, Tensor weight, double labelSmoothing, boolean fromLogits) {
        if (input.dim() < 2 || !input.dtype().isFloatingPoint())
            throw new IllegalArgumentException(op + ": expected a floating input (C), (N, C) or (N, C, d1, ...), got " + Elementwise.describe(input));
        int[] expected = new int[input.dim() - 1];
        expected[0] = input.size(0);
        System.arraycopy(input.shape(), 2, expected, 1, input.dim() - 2);
        if (target.dtype().isFloatingPoint()) {
            if (!fromLogits)
                throw new IllegalArgumentException(op + ": target must hold integer class indices, got " + Elementwise.describe(target));
            if (!Arrays.equals(target.shape(), input.shape()) || target.dtype() != input.dtype())
                throw new IllegalArgumentException(op + ": class-probability target " + Elementwise.describe(target)
                        + " must match the input " + Elementwise.describe(input));
        } else if (target.dtype() != DType.INT64 && target.dtype() != DType.INT32) {
            throw new IllegalArgumentException(op + ": target must be int64/int32 class indices or floating class probabilities, got "
                    + Elementwise.describe(target));
        } else if (!Arrays.equals(target.shape(), expected)) {
            throw new IllegalArgumentException(op + ": class-index target " + Elementwise.describe(target) + " must have shape "
                    + Shapes.str(expected) + " for input " + Elementwise.describe(input));
        }
        if (weight != null) {
            Elementwise.sameDevice(op, input, weight);
            if (weight.dim() != 1 || weight.size(0) != input.size(1) || weight.dtype() != input.dtype())
                throw new IllegalArgumentException(op + ": class weights " + Elementwise.describe(weight) + " must be 1-D with one "
                        + input.dtype() + " value per class (" + input.size(1) + ")");
        }
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1))
            throw new IllegalArgumentException(op + ": label smoothing must be in [0, 1], got " + labelSmoothing);
    }

    /** Class weights shaped (1, C, 1, ...) to broadcast against an input of the given rank. */
    private static Tensor alongClasses(Tensor weight, int rank) {
        int[] shape = new int[rank];
        Arrays.fill(shape, 1);
        shape[1] = weight.size(0);
        return weight.reshape(shape);
    }

    // ---- binary and regression ------------------------------------------------------------------------------

    private static void checkSameShape(String op, Tensor input, Tensor target) {
        Elementwise.sameDevice(op, input, target);
        if (!Arrays.equals(input.shape(), target.shape()) || !input.dtype().isFloatingPoint() || !target.dtype().isFloatingPoint())
            throw new IllegalArgumentException(op + ": input " + Elementwise.describe(input) + " and target " + Elementwise.describe(target)
                    + " must be floating tensors of one shape");
    }

    private static void checkBroadcastsTo(String op, String what, Tensor t, Tensor input) {
        if (t == null) return;
        Elementwise.sameDevice(op, input, t);
        if (!broadcastsTo(t.shape(), input.shape()))
            throw new IllegalArgumentException(op + ": " + what + " " + Elementwise.describe(t) + " does not broadcast to the input " + Elementwise.describe(input));
    }

    private static boolean broadcastsTo(int[] from, int[] to) {
        if (from.length > to.length) return false;
        for (int i = 1; i <= from.length; i++)
            if (from[from.length - i] != 1 && from[from.length - i] != to[to.length - i]) return false;
        return true;
    }

    static Tensor mseLoss(Tensor input, Tensor target, Reduction reduction) {
        checkSameShape("mse_loss", input, target);
        try (Scope scope = Scope.open()) {
            return scope.keep(reduce(input.sub(target).square(), reduction));
        }
    }

    static Tensor l1Loss(Tensor input, Tensor target, Reduction reduction) {
        checkSameShape("l1_loss", input, target);
        try (Scope scope = Scope.open()) {
            return scope.keep(reduce(input.sub(target).abs(), reduction));
        }
    }

    /**
     * Binary cross entropy of probabilities in [0, 1], each log clamped at -100 as in PyTorch. Its gradient is
     * written out, {@code (x - t) / max(x (1 - x), 1e-12)}, because the composed one is 0/0 where x is 0 or 1.
     */
    static Tensor binaryCrossEntropy(Tensor input, Tensor target, Tensor weight, Reduction reduction) {
        checkSameShape("binary_cross_entropy", input, target);
        checkBroadcastsTo("binary_cross_entropy", "weight", weight, input);
        if (input.numel() > 0) {
            // On the device, as PyTorch's device-side assert: 1 marks a value outside [0, 1] (NaN included, as
            // clamping keeps it and NaN equals nothing), and 1 is out of bounds for a check against 1.
            try (GradMode ignored = GradMode.noGrad(); Tensor clamped = input.clamp(0, 1); Tensor outside = input.ne(clamped);
                 Tensor flags = outside.to(DType.INT32)) {
                input.backend().checkIndex("binary_cross_entropy: an input value lies outside [0, 1] (flagged 1; for logits use "
                        + "binary_cross_entropy_with_logits)", flags.view, 1);
            }
        }
        try (Scope scope = Scope.open()) {
            Tensor loss;
            try (GradMode ignored = GradMode.noGrad()) {
                loss = logOf(input).mul(target).add(logOf(input.rsub(1)).mul(target.rsub(1))).neg();
            }
            loss = Autograd.record("binary_cross_entropy", loss, new Tensor[] {input, target}, g -> new Tensor[] {
                    input.requiresGrad() ? g.mul(input.sub(target)).div(input.mul(input.rsub(1)).clamp(1e-12, Double.NaN)) : null,
                    target.requiresGrad() ? g.mul(logOf(input.rsub(1)).sub(logOf(input))) : null});
            if (weight != null) loss = loss.mul(weight);
            return scope.keep(reduce(loss, reduction));
        }
    }

    private static Tensor logOf(Tensor p) { return p.log().clamp(-100, Double.NaN); }

    /**
     * Binary cross entropy on logits, in the stable form {@code (1 - t) softplus(x) + pos_weight t softplus(-x)};
     * {@code posWeight} broadcasts along the last (class) dimension and weight over the whole input.
     */
    static Tensor binaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor weight, Tensor posWeight, Reduction reduction) {
        String op = "binary_cross_entropy_with_logits";
        checkSameShape(op, input, target);
        checkBroadcastsTo(op, "weight", weight, input);
        checkBroadcastsTo(op, "pos_weight", posWeight, input);
        try (Scope scope = Scope.open()) {
            Tensor positive = input.neg().softplus().mul(target);
            if (posWeight != null) positive = positive.mul(posWeight);
            Tensor loss = input.softplus().mul(target.rsub(1)).add(positive);
            if (weight != null) loss = loss.mul(weight);
            return scope.keep(reduce(loss, reduction));
        }
    }

    /** {@code x} where the target is 1, {@code max(0, margin - x)} where it is -1 (PyTorch's exact rule for other values). */
    static Tensor hingeEmbeddingLoss(Tensor input, Tensor target, double margin, Reduction reduction) {
        checkSameShape("hinge_embedding_loss", input, target);
        try (Scope scope = Scope.open()) {
            Tensor zero = Tensor.zerosLike(input);
            Tensor marginPart = Tensor.where(target.ne(1), input.rsub(margin).clamp(0, Double.NaN), zero);
            Tensor selfPart = Tensor.where(target.ne(-1), input, zero);
            return scope.keep(reduce(marginPart.add(selfPart), reduction));
        }
    }

    /** {@code max(0, -target * (x1 - x2) + margin)}, the three operands broadcast together. */
    static Tensor marginRankingLoss(Tensor x1, Tensor x2, Tensor target, double margin, Reduction reduction) {
        String op = "margin_ranking_loss";
        Elementwise.sameDevice(op, x1, x2);
        Elementwise.sameDevice(op, x1, target);
        if (!x1.dtype().isFloatingPoint() || !x2.dtype().isFloatingPoint())
            throw new IllegalArgumentException(op + ": inputs must be floating, got " + Elementwise.describe(x1) + " and " + Elementwise.describe(x2));
        Shapes.broadcast(op, Shapes.broadcast(op, x1.shape(), x2.shape()), target.shape());
        try (Scope scope = Scope.open()) {
            Tensor loss = x1.sub(x2).mul(target).neg().add(margin).clamp(0, Double.NaN);
            return scope.keep(reduce(loss, reduction));
        }
    }
}
