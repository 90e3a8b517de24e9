package dev.kiln.nn.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam (Kingma and Ba) and, with {@link #decoupled}, AdamW (Loshchilov and Hutter), following PyTorch:
 * {@code m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)}. Adam's weight decay adds {@code wd p} to the gradient;
 * AdamW's multiplies the parameter by {@code 1 - lr wd} before the update.
 */
public class Adam extends Optimizer {

    /**
     * Adam with PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay.
     *
     * @param params the parameters to update (leaf tensors that require grad)
     * @param lr the learning rate
     */
    public Adam(List<Tensor> params, double lr) { this("Adam", params, lr, 0); }

    Adam(String name, List<Tensor> params, double lr, double weightDecay) {
        super(name, params, defaults(lr, weightDecay));
    }

    private static Map<String, Double> defaults(double lr, double weightDecay) {
        Map<String, Double> d = new LinkedHashMap<>();
        d.put("lr", lr);
        d.put("beta1", 0.9);
        d.put("beta2", 0.999);
        d.put("eps", 1e-8);
        d.put("weight_decay", weightDecay);
        return d;
    }

    /**
     * Sets the decay rates of the moment estimates.
     *
     * @param beta1 the decay of the gradient's running mean
     * @param beta2 the decay of its running square
     * @return this optimizer, for chaining
     */
    public Adam betas(double beta1, double beta2) {
        setDefault("beta1", beta1);
        setDefault("beta2", beta2);
        return this;
    }

    /**
     * Sets the term that keeps the denominator away from zero.
     *
     * @param eps the term added to the denominator
     * @return this optimizer, for chaining
     */
    public Adam eps(double eps) {
        setDefault("eps", eps);
        return this;
    }

    /**
     * Sets the weight decay (L2 in the gradient for Adam, decoupled for AdamW).
     *
     * @param weightDecay the decay factor
     * @return this optimizer, for chaining
     */
    public Adam weightDecay(double weightDecay) {
        setDefault("weight_decay", weightDecay);
        return this;
    }

    /** Whether weight decay is decoupled from the gradient (AdamW). */
    protected boolean decoupled() { return false; }

    @Override
    protected final void update(ParamGroup group, Tensor param, Tensor grad, ParamState state) {
        double lr = group.lr(), b1 = group.get("beta1"), b2 = group.get("beta2"), wd = group.get("weight_decay");
        if (FusedSteps.applies(param, grad)) {
            Tensor m = state.tensor("exp_avg", param);
            Tensor v = state.tensor("exp_avg_sq", param);
            long t = state.step();
            FusedSteps.adam(fusedUpdates(), param, grad, m, v, decoupled() ? 0 : wd, b1, b2, 1 - Math.pow(b1, t), 1 - Math.pow(b2, t),
                    group.get("eps"), decoupled() ? 1 - lr * wd : 1, lr);
            return;
        }
        Tensor g = grad;
        if (wd != 0) {
            if (decoupled()) param.mul_(1 - lr * wd);
            else g = grad.add(param.mul(wd));
        }
        Tensor m = state.tensor("exp_avg", param);
        Tensor v = state.tensor("exp_avg_sq", param);
        m.mul_(b1).add_(g, 1 - b1);
        v.mul_(b2).add_(g.square(), 1 - b2);
        long t = state.step();
        double biasCorrection1 = 1 - Math.pow(b1, t);
        double biasCorrection2 = 1 - Math.pow(b2, t);
        Tensor denom = v.sqrt().div(Math.sqrt(biasCorrection2)).add(group.get("eps"));
        param.add_(m.div(denom), -lr / biasCorrection1);
    }
}
