package dev.kiln.nn.optim;

import dev.kiln.DType;
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
     * clipping as a 0-D tensor on the gradients' device (read it with {@code item()} when you want the number: that
     * read waits for the device, the clipping itself never does). {@code normType} is p of the p-norm, or infinity
     * for the max norm. Parameters without a gradient are ignored; with none, the norm is 0.
     *
     * <p>As PyTorch's {@code clip_grad_norm_}: the norm is computed in the first gradient's dtype (float32 for the
     * half types) and the factor {@code min(1, maxNorm / (norm + 1e-6))} is multiplied in on the device, so the
     * gradients are rewritten even when the factor is 1.
     *
     * @param params the parameters whose gradients are scaled
     * @param maxNorm the largest norm allowed, non-negative
     * @param normType p of the p-norm, positive, or {@link Double#POSITIVE_INFINITY} for the max norm
     * @return the total norm before clipping, a 0-D tensor on the gradients' device
     * @throws IllegalArgumentException if maxNorm is negative or normType not positive
     */
    public static Tensor clipNorm(List<Tensor> params, double maxNorm, double normType) {
        if (!(maxNorm >= 0)) throw new IllegalArgumentException("clipNorm: maxNorm must be non-negative, got " + maxNorm);
        if (!(normType > 0)) throw new IllegalArgumentException("clipNorm: normType must be positive, got " + normType);
        List<Tensor> grads = new ArrayList<>();
        for (Tensor p : params) if (p.grad() != null) grads.add(p.grad());
        if (grads.isEmpty()) return Tensor.scalar(0, DType.FLOAT32, null);
        DType dtype = grads.getFirst().dtype().isComputeType() ? grads.getFirst().dtype() : DType.FLOAT32;
        boolean max = Double.isInfinite(normType);
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            List<Tensor> parts = new ArrayList<>();
            for (Tensor g : grads) {
                Tensor a = g.abs().to(dtype);
                parts.add((max ? a.max() : a.pow(normType).sum()).reshape(1));
            }
            Tensor all = Tensor.cat(parts, 0);
            Tensor total = max ? all.max() : all.sum().pow(1 / normType);
            Tensor factor = total.add(1e-6).reciprocal().mul(maxNorm).clamp(Double.NaN, 1);
            for (Tensor g : grads) g.mul_(g.dtype() == dtype ? factor : factor.to(g.dtype()));
            return s.keep(total);
        }
    }

    /**
     * {@link #clipNorm(List, double, double)} with the 2-norm.
     *
     * @param params the parameters whose gradients are scaled
     * @param maxNorm the largest norm allowed, non-negative
     * @return the total norm before clipping, a 0-D tensor on the gradients' device
     */
    public static Tensor clipNorm(List<Tensor> params, double maxNorm) {
 return clipNorm(params, maxNorm, 2); }

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
