package dev.kiln.nn.loss;

import dev.kiln.Functional;
import dev.kiln.Reduction;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.Module;

/**
 * Losses as modules, PyTorch's {@code nn.*Loss}: {@code forward(input, target)} with a {@link Reduction}. Class
 * weights are buffers, so {@link Module#to} moves them with the model. Losses that runtime-api's
 * {@link Functional} provides delegate to it; the rest are composed here from differentiable tensor ops.
 */
public final class Loss extends Module {
    @FunctionalInterface
    private interface Fn {
        Tensor apply(Loss self, Tensor input, Tensor target);
    }

    private final String name;
    private final Fn fn;

    private Loss(String name, Tensor weight, Tensor posWeight, Fn fn) {
        this.name = name;
        this.fn = fn;
        if (weight != null) registerBuffer("weight", weight);
        if (posWeight != null) registerBuffer("pos_weight", posWeight);
    }

    private Loss(String name, Fn fn) { this(name, null, null, fn); }

    /**
     * The loss of {@code input} against {@code target}.
     *
     * @param input the prediction (logits, probabilities or values, as the loss expects)
     * @param target the target: class indices or values
     * @return the loss, a scalar unless the reduction is none
     */
    public Tensor forward(Tensor input, Tensor target) { return fn.apply(this, input, target); }

    private Tensor weight() { return optionalBuffer("weight"); }

    @Override
    protected String describe() { return name; }

    // ---- delegating to Functional ---------------------------------------------------------------------------

    /**
     * Mean squared error, PyTorch's {@code MSELoss}.
     *
     * @param r how the per-element losses are combined: mean, sum or none
     * @return the loss module
     */
    public static Loss mse(Reduction r) { return new Loss("MSELoss(" + r + ")", (s, x, y) -> Functional.mseLoss(x, y, r)); }

    /**
     * Mean squared error, averaged.
     *
     * @return the loss module
     */
    public static Loss mse() { return mse(Reduction.MEAN); }

    /**
     * Absolute error, PyTorch's {@code L1Loss}.
     *
     * @param r how the per-element losses are combined: mean, sum or none
     * @return the loss module
     */
    public static Loss l1(Reduction r) { return new Loss("L1Loss(" + r + ")", (s, x, y) -> Functional.l1Loss(x, y, r)); }

    /**
     * Absolute error, averaged.
     *
     * @return the loss module
     */
    public static Loss l1() { return l1(Reduction.MEAN); }

    /**
     * Cross entropy of logits; {@code weight} (per class) may be null.
     *
     * @param weight a weight per class, or null
     * @param ignoreIndex a target class that contributes nothing ({@link Functional#IGNORE_INDEX} for none)
     * @param r how the per-element losses are combined: mean, sum or none
     * @param labelSmoothing the share of the target mass spread evenly over all classes, 0 for none
     * @return the loss module
     */
    public static Loss crossEntropy(Tensor weight, int ignoreIndex, Reduction r, double labelSmoothing) {
        return new Loss("CrossEntropyLoss(" + r + (labelSmoothing != 0 ? ", label_smoothing=" + labelSmoothing : "") + ")", weight, null,
                (s, x, y) -> Functional.crossEntropy(x, y, s.weight(), ignoreIndex, r, labelSmoothing));
    }

    /**
     * Cross entropy of logits against class indices, averaged, with no weights, ignored class or smoothing.
     *
     * @return the loss module
     */
    public static Loss crossEntropy() { return crossEntropy(null, Functional.IGNORE_INDEX, Reduction.MEAN, 0); }

    /**
     * Negative log-likelihood of log-probabilities; {@code weight} may be null.
     *
     * @param weight a weight per class, or null
     * @param ignoreIndex a target class that contributes nothing ({@link Functional#IGNORE_INDEX} for none)
     * @param r how the per-element losses are combined: mean, sum or none
     * @return the loss module
     */
    public static Loss nll(Tensor weight, int ignoreIndex, Reduction r) {
        return new Loss("NLLLoss(" + r + ")", weight, null, (s, x, y) -> Functional.nllLoss(x, y, s.weight(), ignoreIndex, r));
    }

    /**
     * Negative log-likelihood of log-probabilities against class indices, averaged.
     *
     * @return the loss module
     */
    public static Loss nll() { return nll(null, Functional.IGNORE_INDEX, Reduction.MEAN); }

    /**
     * Binary cross entropy of probabilities; {@code weight} may be null.
     *
     * @param weight a weight per element (broadcast), or null
     * @param r how the per-element losses are combined: mean, sum or none
     * @return the loss module
     */
    public static Loss bce(Tensor weight, Reduction r) {
        return new Loss("BCELoss(" + r + ")", weight, null, (s, x, y) -> Functional.binaryCrossEntropy(x, y, s.weight(), r));
    }

    /**
     * Binary cross entropy of probabilities, averaged.
     *
     * @return the loss module
     */
    public static Loss bce() { return bce(null, Reduction.MEAN); }

    /**
     * Binary cross entropy of logits; {@code weight} and {@code posWeight} may be null.
     *
     * @param weight a weight per element (broadcast), or null
     * @param posWeight a weight on the positive term per class, or null
     * @param r how the per-element losses are combined: mean, sum or none
     * @return the loss module
     */
    public static Loss bceWithLogits(Tensor weight, Tensor posWeight, Reduction r) {
        return new Loss("BCEWithLogitsLoss(" + r + ")", weight, posWeight,
                (s, x, y) -> Functional.binaryCrossEntropyWithLogits(x, y, s.weight(), s.optionalBuffer("pos_weight"), r));
    }

    /**
     * Binary cross entropy of logits, averaged.
     *
     * @return the loss module
     */
    public static Loss bceWithLogits() { return bceWithLogits(null, null, Reduction.MEAN); }

    /**
     * Hinge embedding loss: x where the target is 1, max(0, margin - x) where it is -1.
     *
     * @param margin the margin for targets of -1
     * @param r how the per-element losses are combined: mean, sum or none
     * @return the loss module
     */
    public static Loss hingeEmbedding(double margin, Reduction r) {
        return new Loss("HingeEmbeddingLoss(margin=" + margin + ", " + r + ")", (s, x, y) -> Functional.hingeEmbeddingLoss(x, y, margin, r));
    }

    // ---- composed here ----------------------------------------------------------------------------------

    /**
     * Smooth L1: {@code 0.5 d^2 / beta} where {@code |d| < beta}, else {@code |d| - 0.5 beta}; beta 0 is L1.
     *
     * @param beta where the quadratic part ends; non-negative
     * @param r how the per-element losses are combined: mean, sum or none
     * @return the loss module
     * @throws IllegalArgumentException if beta is negative
     */
    public static Loss smoothL1(double beta, Reduction r) {
        if (beta < 0) throw new IllegalArgumentException("SmoothL1Loss: beta must be non-negative, got " + beta);
        return new Loss("SmoothL1Loss(beta=" + beta + ", " + r + ")", (s, x, y) -> beta == 0 ? Functional.l1Loss(x, y, r) : huberLike(x, y, beta, 1 / beta, r));
    }

    /**
     * Huber: {@code 0.5 d^2} where {@code |d| < delta}, else {@code delta (|d| - 0.5 delta)}; smooth L1 times delta.
     *
     * @param delta where the quadratic part ends; positive
     * @param r how the per-element losses are combined: mean, sum or none
     * @return the loss module
     * @throws IllegalArgumentException if delta is not positive
     */
    public static Loss huber(double delta, Reduction r) {
        if (delta <= 0) throw new IllegalArgumentException("HuberLoss: delta must be positive, got " + delta);
        return new Loss("HuberLoss(delta=" + delta + ", " + r + ")", (s, x, y) -> huberLike(x, y, delta, 1, r));
    }

    /** {@code scale * huber_delta(d)}, where the quadratic part is {@code 0.5 d^2} and the linear part {@code delta(|d| - delta/2)}. */
    private static Tensor huberLike(Tensor x, Tensor y, double delta, double scale, Reduction r) {
        checkSameShape("huber/smooth_l1", x, y);
        try (Scope sc = Scope.open()) {
            Tensor d = x.sub(y).abs();
            Tensor quadratic = d.square().mul(0.5 * scale);
            Tensor linear = d.sub(0.5 * delta).mul(delta * scale);
            return sc.keep(reduce(Tensor.where(d.lt(delta), quadratic, linear), r));
        }
    }

    /**
     * Multi-class margin loss over logits (N, C) and class indices (N): for each sample,
     * {@code sum_{j != y} w_y max(0, margin - x_y + x_j)^p / C}, with p 1 or 2 and optional class weights.
     *
     * @param p the power of the hinge, 1 or 2
     * @param margin the margin
     * @param weight a weight per class, or null
     * @param r how the per-element losses are combined: mean, sum or none
     * @return the loss module
     * @throws IllegalArgumentException if p is not 1 or 2
     */
    public static Loss multiMargin(int p, double margin, Tensor weight, Reduction r) {
        if (p != 1 && p != 2) throw new IllegalArgumentException("MultiMarginLoss: p must be 1 or 2, got " + p);
        return new Loss("MultiMarginLoss(p=" + p + ", margin=" + margin + ", " + r + ")", weight, null, (s, x, y) -> {
            if (x.dim() != 2 || y.dim() != 1 || y.size(0) != x.size(0))
                throw new IllegalArgumentException("MultiMarginLoss: expected input (N, C) and target (N), got " + java.util.Arrays.toString(x.shape())
                        + " and " + java.util.Arrays.toString(y.shape()));
            try (Scope sc = Scope.open()) {
                int c = x.size(1);
                Tensor xy = x.gather(1, y.unsqueeze(1));
                Tensor hinge = x.sub(xy).add(margin).relu();
                if (p == 2) hinge = hinge.square();
                Tensor notTarget = y.oneHot(c).to(x.dtype()).rsub(1);
                Tensor perSample = hinge.mul(notTarget).sum(1).div(c);
                if (s.weight() != null) perSample = perSample.mul(s.weight().indexSelect(0, y));
                return sc.keep(reduce(perSample, r));
            }
        });
    }

    /**
     * Kullback-Leibler divergence with {@code input} log-probabilities and {@code target} probabilities (or
     * log-probabilities with {@code logTarget}): pointwise {@code target (log target - input)}, 0 where the
     * target is 0. {@code batchMean} divides the sum by the batch size, the mathematically correct KL.
     *
     * @param r how the per-element losses are combined: mean, sum or none (ignored with {@code batchMean})
     * @param batchMean whether to divide the sum by the batch size
     * @param logTarget whether the target holds log-probabilities
     * @return the loss module
     */
    public static Loss klDiv(Reduction r, boolean batchMean, boolean logTarget) {
        return new Loss("KLDivLoss(" + (batchMean ? "batchmean" : r) + (logTarget ? ", log_target" : "") + ")", (s, x, y) -> {
            checkSameShape("kl_div", x, y);
            try (Scope sc = Scope.open()) {
                Tensor pointwise;
                if (logTarget) {
                    pointwise = y.exp().mul(y.sub(x));
                } else {
                    Tensor positive = y.gt(0);
                    Tensor safeLog = Tensor.where(positive, y, Tensor.onesLike(y)).log();
                    pointwise = Tensor.where(positive, y.mul(safeLog.sub(x)), Tensor.zerosLike(x));
                }
                return sc.keep(batchMean ? pointwise.sum().div(x.dim() == 0 ? 1 : x.size(0)) : reduce(pointwise, r));
            }
        });
    }

    private static void checkSameShape(String op, Tensor x, Tensor y) {
        if (!java.util.Arrays.equals(x.shape(), y.shape()))
            throw new IllegalArgumentException(op + ": input " + java.util.Arrays.toString(x.shape()) + " and target " + java.util.Arrays.toString(y.shape())
                    + " must have one shape");
    }

    static Tensor reduce(Tensor perElement, Reduction r) {
        return switch (r) {
            case NONE -> perElement;
            case MEAN -> perElement.mean();
            case SUM -> perElement.sum();
        };
    }
}
