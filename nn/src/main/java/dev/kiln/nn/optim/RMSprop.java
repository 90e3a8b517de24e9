package dev.kiln.nn.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * RMSprop as in PyTorch: {@code s = alpha s + (1-alpha) g^2}; with centering, {@code a = alpha a + (1-alpha) g}
 * and the denominator uses {@code s - a^2}; {@code d = sqrt(.) + eps}; with momentum
 * {@code b = mu b + g/d, p -= lr b}, else {@code p -= lr g/d}.
 */
public final class RMSprop extends Optimizer {

    /**
     * RMSprop with PyTorch's defaults: alpha 0.99, eps 1e-8, no weight decay or momentum, not centered.
     *
     * @param params the parameters to update (leaf tensors that require grad)
     * @param lr the learning rate
     */
    public RMSprop(List<Tensor> params, double lr) {
        super("RMSprop", params, defaults(lr));
    }

    private static Map<String, Double> defaults(double lr) {
        Map<String, Double> d = new LinkedHashMap<>();
        d.put("lr", lr);
        d.put("alpha", 0.99);
        d.put("eps", 1e-8);
        d.put("weight_decay", 0.0);
        d.put("momentum", 0.0);
        d.put("centered", 0.0);
        return d;
    }

    /**
     * Sets the decay of the squared-gradient average.
     *
     * @param alpha the smoothing constant
     * @return this optimizer, for chaining
     */
    public RMSprop alpha(double alpha) {
        setDefault("alpha", alpha);
        return this;
    }

    /**
     * Sets the term that keeps the denominator away from zero.
     *
     * @param eps the term added to the denominator
     * @return this optimizer, for chaining
     */
    public RMSprop eps(double eps) {
        setDefault("eps", eps);
        return this;
    }

    /**
     * Sets the weight decay (L2 penalty added to the gradient).
     *
     * @param weightDecay the L2 penalty factor
     * @return this optimizer, for chaining
     */
    public RMSprop weightDecay(double weightDecay) {
        setDefault("weight_decay", weightDecay);
        return this;
    }

    /**
     * Sets the momentum.
     *
     * @param momentum the momentum factor, 0 for none
     * @return this optimizer, for chaining
     */
    public RMSprop momentum(double momentum) {
        setDefault("momentum", momentum);
        return this;
    }

    /**
     * Turns the centered variant on or off.
     *
     * @param centered whether to normalise by the estimated variance rather than the second moment
     * @return this optimizer, for chaining
     */
    public RMSprop centered(boolean centered) {
        setDefault("centered", centered ? 1 : 0);
        return this;
    }

    @Override
    protected void update(ParamGroup group, Tensor param, Tensor grad, ParamState state) {
        double alpha = group.get("alpha"), wd = group.get("weight_decay"), mu = group.get("momentum");
        Tensor g = wd != 0 ? grad.add(param.mul(wd)) : grad;
        Tensor sq = state.tensor("square_avg", param);
        sq.mul_(alpha).add_(g.square(), 1 - alpha);
        Tensor meanSq = sq;
        if (group.get("centered") != 0) {
            Tensor avg = state.tensor("grad_avg", param);
            avg.mul_(alpha).add_(g, 1 - alpha);
            meanSq = sq.sub(avg.square());
        }
        Tensor denom = meanSq.sqrt().add(group.get("eps"));
        if (mu > 0) {
            Tensor buf = state.tensor("momentum_buffer", param);
            buf.mul_(mu).add_(g.div(denom));
            param.add_(buf, -group.lr());
        } else {
            param.add_(g.div(denom), -group.lr());
        }
    }
}
