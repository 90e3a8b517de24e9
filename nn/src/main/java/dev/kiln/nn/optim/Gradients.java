package dev.kiln.nn.optim;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;

import java.util.ArrayList;
import java.util.List;

/** Gradient clipping, as PyTorch's {@code clip_grad_norm_} and {@code clip_grad_value_}. */
public final class Gradients {
    private Gradients() {}

    /**
     * Scales all gradients together so their joint norm is at most {@code maxNorm}; returns the norm before
     * clipping. {@code normType} is p of the p-norm, or infinity for the max norm. Parameters without a gradient
     * are ignored.
     *
     * @param params the parameters whose gradients are scaled
     * @param maxNorm the largest norm allowed, non-negative
     * @param normType p, positive, or {@code Double.POSITIVE_INFINITY}
     * @return the joint norm before clipping (0 when no parameter has a gradient)
     * @throws IllegalArgumentException if maxNorm is negative or normType not positive
     */
    public static double clipNorm(List<Tensor> params, double maxNorm, double normType) {
        if (!(maxNorm >= 0)) throw new IllegalArgumentException("clipNorm: maxNorm must be non-negative, got " + maxNorm);
        if (!(normType > 0)) throw new IllegalArgumentException("clipNorm: normType must be positive, got " + normType);
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : params) if (p.grad() != null) grads.add(p.grad());
        if (grads.isEmpty()) return 0;
        double total;
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            List<Tensor> parts = new ArrayList<>();
            for (Tensor g : grads) {
                Tensor a = g.abs().to(dev.kiln.DType.FLOAT64);
                parts.add(Double.isInfinite(normType) ? a.max().reshape(1) : a.pow(normType).sum().reshape(1));
            }
            Tensor all = Tensor.cat(parts, 0);
            total = Double.isInfinite(normType) ? all.max().item() : Math.pow(all.sum().item(), 1 / normType);
            double coef = maxNorm / (total + 1e-6);
            if (coef < 1) for (Tensor g : grads) g.mul_(coef);
        }
        return total;
    }

    /**
     * Scales all gradients together so their joint 2-norm is at most {@code maxNorm}.
     *
     * @param params the parameters whose gradients are scaled
     * @param maxNorm the largest norm allowed, non-negative
     * @return the joint norm before clipping
     */
    public static double clipNorm(List<Tensor> params, double maxNorm) { return clipNorm(params, maxNorm, 2); }

    /**
     * Clamps every gradient element into [-clip, clip].
     *
     * @param params the parameters whose gradients are clamped
     * @param clip the bound, non-negative
     * @throws IllegalArgumentException if clip is negative
     */
    public static void clipValue(List<Tensor> params, double clip) {
        if (!(clip >= 0)) throw new IllegalArgumentException("clipValue: clip must be non-negative, got " + clip);
        try (GradMode ng = GradMode.noGrad()) {
            for (Tensor p : params) if (p.grad() != null) p.grad().clamp_(-clip, clip);
        }
    }
}
