package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Gradient health after {@code backward()}: each parameter's gradient norm and whether it is finite, with
 * warnings for non-finite, vanishing or exploding gradients and for parameters that received none.
 */
public final class GradientMonitor {
    private final double vanishing;
    private final double exploding;

    /**
     * Norms below {@code vanishing} or above {@code exploding} are reported.
     *
     * @param vanishing the norm below which a gradient is reported as vanishing
     * @param exploding the norm above which it is reported as exploding
     */
    public GradientMonitor(double vanishing, double exploding) {
        this.vanishing = vanishing;
        this.exploding = exploding;
    }

    /**
     * A monitor that reports norms below 1e-8 or above 1e3.
     */
    public GradientMonitor() { this(1e-8, 1e3); }

    /**
     * One parameter's gradient: its L2 norm (NaN when absent) and whether every element is finite.
     *
     * @param name the parameter's dotted name
     * @param norm the gradient's L2 norm, NaN when absent
     * @param finite whether every element is finite
     * @param present whether the parameter has a gradient
     */
    public record Entry(String name, double norm, boolean finite, boolean present) {}

    /**
     * The state of every parameter's gradient, with the problems found.
     *
     * @param entries each parameter's entry, by dotted name
     * @param totalNorm the L2 norm of all gradients together
     * @param problems one line per problem found
     */
    public record Report(Map<String, Entry> entries, double totalNorm, List<String> problems) {
        /**
         * {@return whether no problem was found}
         */
        public boolean healthy() { return problems.isEmpty(); }
    }

    /**
     * Checks every parameter's gradient.
     *
     * @param model the model, after {@code backward()}
     * @return each parameter's gradient state and the problems
     */
    public Report check(Module model) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        double total = 0;
        try (GradMode g = GradMode.noGrad()) {
            for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
                Tensor grad = e.getValue().grad();
                String name = e.getKey();
                if (grad == null) {
                    entries.put(name, new Entry(name, Double.NaN, true, false));
                    problems.add(name + ": no gradient (unused in the forward pass, or detached)");
                    continue;
                }
                double norm;
                try (Scope s = Scope.open()) {
                    // In the gradient's own dtype (float32 for the half types): no float64 on the device.
                    Tensor x = grad.dtype().isComputeType() ? grad : grad.to(DType.FLOAT32);
                    norm = Math.sqrt(x.square().sum().item());
                }
                boolean finite = Double.isFinite(norm);
                entries.put(name, new Entry(name, norm, finite, true));
                if (!finite) problems.add(name + ": gradient contains NaN or infinity");
                else if (norm < vanishing) problems.add(name + ": vanishing gradient (norm " + norm + ")");
                else if (norm > exploding) problems.add(name + ": exploding gradient (norm " + norm + ")");
                total += norm * norm;
            }
        }
        return new Report(entries, Math.sqrt(total), problems);
    }
}
