package dev.kiln.nn.optim;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Dynamic loss scaling for float16 training under {@link dev.kiln.Autocast}, as PyTorch's
 * {@code torch.amp.GradScaler}: the loss is multiplied by a large factor before backward so that small gradients
 * survive float16's narrow range, the gradients are divided by it again before the update, and a step whose
 * gradients hold an infinity or NaN (the factor was too large) is skipped and the factor halved. After
 * {@code growthInterval} steps in a row without one the factor doubles.
 *
 * <pre>{@code
 * GradScaler scaler = new GradScaler();
 * for (...) {
 *     optimizer.zeroGrad();
 *     Tensor loss;
 *     try (Autocast ac = Autocast.enable(DType.FLOAT16)) {
 *         loss = lossFn.apply(model.forward(x), y);
 *     }
 *     scaler.scale(loss).backward();
 *     scaler.unscale(optimizer);                        // optional: only to clip the true gradients
 *     Gradients.clipNorm(model.parameters(), 1.0);
 *     scaler.step(optimizer);                           // skipped when a gradient is not finite
 *     scaler.update();
 * }
 * }</pre>
 *
 * <p>bfloat16 has float32's range and needs no scaler. The check for non-finite gradients reads one number back
 * from the device per step (PyTorch's {@code step} waits for it too).
 */
public final class GradScaler {
    private final double growthFactor, backoffFactor;
    private final int growthInterval;
    private double scale;
    private int growthTracker;
    /** The optimizers unscaled since the last update, with whether their gradients held a non-finite value. */
    private final Map<Optimizer, Boolean> foundInf = new IdentityHashMap<>();

    /** A scaler with PyTorch's defaults: scale 65536, doubled after 2000 clean steps, halved on an overflow. */
    public GradScaler() { this(65536, 2, 0.5, 2000); }

    /**
     * A scaler with the given schedule.
     *
     * @param initScale the first scale factor, positive and finite
     * @param growthFactor the factor the scale grows by after {@code growthInterval} clean steps, above 1
     * @param backoffFactor the factor the scale shrinks by after a step with non-finite gradients, in (0, 1)
     * @param growthInterval clean steps in a row before the scale grows, at least 1
     * @throws IllegalArgumentException for values outside those ranges
     */
    public GradScaler(double initScale, double growthFactor, double backoffFactor, int growthInterval) {
        if (!(initScale > 0) || Double.isInfinite(initScale))
            throw new IllegalArgumentException("GradScaler: initScale must be positive and finite, got " + initScale);
        if (!(growthFactor > 1)) throw new IllegalArgumentException("GradScaler: growthFactor must be above 1, got " + growthFactor);
        if (!(backoffFactor > 0 && backoffFactor < 1))
            throw new IllegalArgumentException("GradScaler: backoffFactor must lie in (0, 1), got " + backoffFactor);
        if (growthInterval < 1) throw new IllegalArgumentException("GradScaler: growthInterval must be at least 1, got " + growthInterval);
        this.scale = initScale;
        this.growthFactor = growthFactor;
        this.backoffFactor = backoffFactor;
        this.growthInterval = growthInterval;
    }

    /** {@return the scale factor now in force (PyTorch's {@code get_scale})} */
    public double getScale() { return scale; }

    /**
     * {@return {@code loss} times the scale factor, to call {@code backward()} on}
     *
     * @param loss the loss (float32, as autocast computes losses)
     */
    public Tensor scale(Tensor loss) { return loss.mul(scale); }

    /**
     * Divides the gradients of the optimizer's parameters by the scale factor, in place, and notes whether any of
     * them holds an infinity or NaN. Call it before clipping or inspecting gradients; {@link #step} calls it when
     * it was not called.
     *
     * @param optimizer the optimizer whose parameters' gradients are unscaled
     * @throws IllegalStateException when it was already called for this optimizer since the last {@link #update}
     */
    public void unscale(Optimizer optimizer) {
        if (foundInf.containsKey(optimizer))
            throw new IllegalStateException("GradScaler.unscale: already called for this optimizer since the last update()");
        boolean nonFinite = false;
        try (GradMode ng = GradMode.noGrad(); Scope s = Scope.open()) {
            Tensor flags = null;
            for (ParamGroup g : optimizer.paramGroups()) {
                for (Tensor p : g.params()) {
                    Tensor grad = p.grad();
                    if (grad == null) continue;
                    grad.mul_(1 / scale);
                    // 0 * x is 0 for every finite x and NaN for an infinity or NaN, so one sum flags them all.
                    Tensor flag = grad.mul(0).sum();
                    flags = flags == null ? flag : flags.add(flag);
                }
            }
            if (flags != null) nonFinite = Double.isNaN(flags.item());
        }
        foundInf.put(optimizer, nonFinite);
    }

    /**
     * Runs {@code optimizer.step()} on the unscaled gradients, unless one of them is not finite.
     *
     * @param optimizer the optimizer to step
     * @return whether the step ran
     */
    public boolean step(Optimizer optimizer) {
        if (!foundInf.containsKey(optimizer)) unscale(optimizer);
        if (foundInf.get(optimizer)) return false;
        optimizer.step();
        return true;
    }

    /**
     * Adjusts the scale factor after an iteration's steps: shrinks it when any optimizer's gradients were not
     * finite, grows it after {@code growthInterval} clean iterations in a row.
     *
     * @throws IllegalStateException when no optimizer was unscaled or stepped since the last update
     */
    public void update() {
        if (foundInf.isEmpty())
            throw new IllegalStateException("GradScaler.update: no step() or unscale() since the last update, so there is nothing to adjust the scale by");
        if (foundInf.containsValue(Boolean.TRUE)) {
            scale *= backoffFactor;
            growthTracker = 0;
        } else if (++growthTracker == growthInterval) {
            scale *= growthFactor;
            growthTracker = 0;
        }
        foundInf.clear();
    }
}
