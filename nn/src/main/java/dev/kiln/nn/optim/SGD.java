package dev.kiln.nn.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stochastic gradient descent with optional momentum (heavy-ball or Nesterov), dampening and L2 weight decay,
 * with PyTorch's update rule: {@code g += wd p; b = mu b + (1 - dampening) g} (b = g on the first step);
 * {@code g = nesterov ? g + mu b : b; p -= lr g}.
 */
public final class SGD extends Optimizer {

    /**
     * Plain SGD: no momentum, dampening or weight decay.
     *
     * @param params the parameters to update (leaf tensors that require grad)
     * @param lr the learning rate
     */
    public SGD(List<Tensor> params, double lr) {
        super("SGD", params, defaults(lr));
    }

    private static Map<String, Double> defaults(double lr) {
        Map<String, Double> d = new LinkedHashMap<>();
        d.put("lr", lr);
        d.put("momentum", 0.0);
        d.put("dampening", 0.0);
        d.put("weight_decay", 0.0);
        d.put("nesterov", 0.0);
        return d;
    }

    /**
     * Sets the momentum.
     *
     * @param momentum the momentum factor, 0 for none
     * @return this optimizer, for chaining
     */
    public SGD momentum(double momentum) {
        setDefault("momentum", momentum);
        return this;
    }

    /**
     * Sets the dampening of the momentum.
     *
     * @param dampening the dampening factor
     * @return this optimizer, for chaining
     */
    public SGD dampening(double dampening) {
        setDefault("dampening", dampening);
        return this;
    }

    /**
     * Sets the weight decay (L2 penalty added to the gradient).
     *
     * @param weightDecay the L2 penalty factor
     * @return this optimizer, for chaining
     */
    public SGD weightDecay(double weightDecay) {
        setDefault("weight_decay", weightDecay);
        return this;
    }

    /**
     * Turns Nesterov momentum on or off.
     *
     * @param nesterov whether to use Nesterov momentum
     * @return this optimizer, for chaining
     */
    public SGD nesterov(boolean nesterov) {
        setDefault("nesterov", nesterov ? 1 : 0);
        return this;
    }

    @Override
    protected void update(ParamGroup group, Tensor param, Tensor grad, ParamState state) {
        double wd = group.get("weight_decay"), mu = group.get("momentum");
        if (FusedSteps.applies(param, grad) && (mu == 0 || state.has("momentum_buffer"))) {
            if (mu == 0) FusedSteps.sgd(fusedUpdates(), param, grad, wd, group.lr());
            else FusedSteps.sgdMomentum(fusedUpdates(), param, grad, state.tensor("momentum_buffer", grad), wd, group.lr(), mu,
                    group.get("dampening"), group.get("nesterov") != 0);
            return;
        }
        Tensor g = wd != 0 ? grad.add(param.mul(wd)) : grad;
        if (mu != 0) {
            boolean first = !state.has("momentum_buffer");
            Tensor buf = state.tensor("momentum_buffer", g);
            if (first) buf.copy_(g);
            else buf.mul_(mu).add_(g, 1 - group.get("dampening"));
            g = group.get("nesterov") != 0 ? g.add(buf.mul(mu)) : buf;
        }
        param.add_(g, -group.lr());
    }
}
