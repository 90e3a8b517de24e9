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

    /** Norms below {@code vanishing} or above {@code exploding} are reported. */
    public GradientMonitor(double vanishing, double exploding) {
        this.vanishing = vanishing;
        this.exploding = exploding;
    }

    public GradientMonitor() { this(1e-8, 1e3); }

    /** One parameter's gradient: its L2 norm (NaN when absent) and whether every element is finite. */
    public record Entry(String name, double norm, boolean finite, boolean present) {}

    /** The state of every parameter's gradient, with the problems found. */
    public record Report(Map<String, Entry> entries, double totalNorm, List<String> problems) {
        public boolean healthy() { return problems.isEmpty(); }
    }

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
