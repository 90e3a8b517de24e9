package dev.kiln.nn.optim;

import dev.kiln.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adagrad as in PyTorch: {@code s += g^2; p -= lr_t g / (sqrt(s) + eps)} with
 * {@code lr_t = lr / (1 + (t-1) lr_decay)} and s starting at {@code initial_accumulator_value}.
 */
public final class Adagrad extends Optimizer {

    /**
     * Adagrad with PyTorch's defaults: no rate decay or weight decay, accumulator starting at 0, eps 1e-10.
     *
     * @param params the parameters to update (leaf tensors that require grad)
     * @param lr the learning rate
     */
    public Adagrad(List<Tensor> params, double lr) {
        super("Adagrad", params, defaults(lr));
    }

    private static Map<String, Double> defaults(double lr) {
        Map<String, Double> d = new LinkedHashMap<>();
        d.put("lr", lr);
        d.put("lr_decay", 0.0);
        d.put("weight_decay", 0.0);
        d.put("initial_accumulator_value", 0.0);
        d.put("eps", 1e-10);
        return d;
    }

    /**
     * Sets the learning-rate decay.
     *
     * @param lrDecay the decay factor
     * @return this optimizer, for chaining
     */
    public Adagrad lrDecay(double lrDecay) {
        setDefault("lr_decay", lrDecay);
        return this;
    }

    /**
     * Sets the weight decay (L2 penalty added to the gradient).
     *
     * @param weightDecay the L2 penalty factor
     * @return this optimizer, for chaining
     */
    public Adagrad weightDecay(double weightDecay) {
        setDefault("weight_decay", weightDecay);
        return this;
    }

    /**
     * Sets the starting value of the squared-gradient accumulator.
     *
     * @param value the initial value
     * @return this optimizer, for chaining
     */
    public Adagrad initialAccumulatorValue(double value) {
        setDefault("initial_accumulator_value", value);
        return this;
    }

    /**
     * Sets the term that keeps the denominator away from zero.
     *
     * @param eps the term added to the denominator
     * @return this optimizer, for chaining
     */
    public Adagrad eps(double eps) {
        setDefault("eps", eps);
        return this;
    }

    @Override
    protected void update(ParamGroup group, Tensor param, Tensor grad, ParamState state) {
        double wd = group.get("weight_decay");
        Tensor g = wd != 0 ? grad.add(param.mul(wd)) : grad;
        Tensor sum = state.tensor("sum", () -> Tensor.fullLike(param, group.get("initial_accumulator_value")));
        sum.add_(g.square());
        double clr = group.lr() / (1 + (state.step() - 1) * group.get("lr_decay"));
        param.add_(g.div(sum.sqrt().add(group.get("eps"))), -clr);
    }
}
