package dev.kiln.nn.optim;

import dev.kiln.DType;
import dev.kiln.Fused;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;
import dev.kiln.backend.FusedProgram;
import dev.kiln.nn.Module;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * An exponential moving average of a module's weights, kept in a second module of the same architecture: after each
 * optimizer step, {@code average = decay * average + (1 - decay) * weight} for every parameter and floating-point
 * buffer (batch-norm statistics), other buffers copied. The averaged weights are what GAN generators, diffusion
 * models and many classifiers are evaluated with: they smooth out the last steps' noise. PyTorch's counterpart is
 * {@code torch.optim.swa_utils.AveragedModel} with {@code get_ema_multi_avg_fn(decay)} and {@code use_buffers=True}.
 *
 * <pre>{@code
 * Generator averaged = new Generator();                       // same architecture
 * var ema = new ExponentialMovingAverage(generator, averaged, 0.999);
 * for (...) { optimizer.step(); ema.update(); }
 * averaged.eval(); averaged.forward(z);
 * }</pre>
 */
public final class ExponentialMovingAverage {
    /** {@code average * decay + weight * (1 - decay)}: inputs (average, weight), scalars (decay, 1 - decay). */
    private static final FusedProgram STEP;

    static {
        var b = FusedProgram.builder();
        int average = b.input(), weight = b.input(), decay = b.scalar(), rest = b.scalar();
        STEP = b.output(b.add(b.mul(average, decay), b.mul(weight, rest))).build();
    }

    private final double decay;
    private final List<Tensor[]> averaged = new ArrayList<>(), copied = new ArrayList<>();

    /**
     * Starts the average at {@code source}'s current weights, written into {@code average}.
     *
     * @param source the module being trained
     * @param average a module of the same architecture (the same parameter and buffer names and shapes), which
     *                this overwrites and then keeps as the average
     * @param decay the weight of the old average at each update, in [0, 1): 0.999 averages over about the last
     *              thousand updates
     * @throws IllegalArgumentException when the decay is outside [0, 1) or the modules' names or shapes differ
     */
    public ExponentialMovingAverage(Module source, Module average, double decay) {
        if (!(decay >= 0 && decay < 1)) throw new IllegalArgumentException("ExponentialMovingAverage: decay must be in [0, 1), got " + decay);
        this.decay = decay;
        pair(source.namedParameters(), average.namedParameters(), "parameter");
        pair(source.namedBuffers(), average.namedBuffers(), "buffer");
        try (GradMode ng = GradMode.noGrad()) {
            for (Tensor[] p : averaged) p[1].copy_(p[0]);
            for (Tensor[] p : copied) p[1].copy_(p[0]);
        }
    }

    private void pair(Map<String, Tensor> from, Map<String, Tensor> to, String kind) {
        if (!from.keySet().equals(to.keySet()))
            throw new IllegalArgumentException("ExponentialMovingAverage: the modules' " + kind + "s differ: " + from.keySet() + " against " + to.keySet());
        for (var e : from.entrySet()) {
            Tensor source = e.getValue(), target = to.get(e.getKey());
            if (!Arrays.equals(source.shape(), target.shape()) || source.dtype() != target.dtype())
                throw new IllegalArgumentException("ExponentialMovingAverage: " + kind + " " + e.getKey() + " is " + source.dtype()
                        + Arrays.toString(source.shape()) + " in the source but " + target.dtype() + Arrays.toString(target.shape())
                        + " in the average");
            (source.dtype().isFloatingPoint() ? averaged : copied).add(new Tensor[] {source, target});
        }
    }

    /** Moves the average towards the source's current weights: call after each optimizer step. */
    public void update() {
        double[] scalars = {decay, 1 - decay};
        try (GradMode ng = GradMode.noGrad()) {
            for (Tensor[] p : averaged) {
                Tensor weight = p[0], average = p[1];
                if (weight.dtype() == DType.FLOAT32 || weight.dtype() == DType.FLOAT64)
                    Fused.applyInto(STEP, scalars, new Tensor[] {average, weight}, average);
                else
                    average.mul_(decay).add_(weight, 1 - decay);
            }
            for (Tensor[] p : copied) p[1].copy_(p[0]);
        }
    }
}
