package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.autograd.GradMode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A model's layers with their output shapes and parameter counts, as torchinfo's {@code summary} shows them; made
 * by {@link Module#summary}, printed by {@link #toString()}.
 *
 * <p>The shapes come from one forward pass on zeros, without gradients and in eval mode. A {@link Sequential}'s
 * layers are run one by one, so each of them gets its output shape, nested Sequentials included; any other module
 * runs its own forward, so its submodules are listed with their parameter counts but without an output shape
 * (Kiln has no forward hooks to observe them).
 *
 * @param rows the model first, then every submodule, depth-first in registration order
 * @param totalParameters the number of parameter elements in the model
 */
public record ModuleSummary(List<Row> rows, long totalParameters) {

    /**
     * One module of the model.
     *
     * @param name its dotted name in the model ({@code ""} for the model itself)
     * @param layer the module's one-line description, e.g. {@code Linear(784, 10)}
     * @param depth how deep it is nested (0 for the model)
     * @param outputShape the shape of its output in the summary's forward pass, or null when it was not observed
     * @param parameters the number of parameter elements in it and its submodules
     */
    public record Row(String name, String layer, int depth, int[] outputShape, long parameters) {}

    static ModuleSummary of(Module model, DType dtype, int... inputShape) {
        List<Row> rows = new ArrayList<>();
        // Each module's own flag, restored one by one: a model may hold submodules in another mode (a frozen part).
        Map<Module, Boolean> training = new IdentityHashMap<>();
        model.apply(m -> training.put(m, m.isTraining()));
        Device device = model.parameters().stream().findFirst().map(Tensor::device).orElse(null);
        try (GradMode g = GradMode.noGrad(); Scope s = Scope.open()) {
            model.eval();
            run(model, "", 0, Tensor.zeros(dtype, device, inputShape), rows);
        } finally {
            training.forEach((m, on) -> m.setTraining(on));
        }
        return new ModuleSummary(List.copyOf(rows), model.parameterCount());
    }

    /** Adds the rows of {@code m} and its submodules; returns its output. */
    private static Tensor run(Module m, String name, int depth, Tensor input, List<Row> rows) {
        int at = rows.size();
        rows.add(null);
        Tensor out;
        if (m instanceof Sequential seq) {
            out = input;
            for (int i = 0; i < seq.size(); i++) out = run(seq.get(i), qualified(name, Integer.toString(i)), depth + 1, out, rows);
        } else {
            out = m.forward(input);
            m.children().forEach((n, c) -> unobserved(c, qualified(name, n), depth + 1, rows));
        }
        rows.set(at, new Row(name, m.describe(), depth, out.shape(), m.parameterCount()));
        return out;
    }

    private static void unobserved(Module m, String name, int depth, List<Row> rows) {
        rows.add(new Row(name, m.describe(), depth, null, m.parameterCount()));
        m.children().forEach((n, c) -> unobserved(c, qualified(name, n), depth + 1, rows));
    }

    private static String qualified(String parent, String child) { return parent.isEmpty() ? child : parent + "." + child; }

    /** {@return the summary as a table: layer (indented by depth), output shape, parameters, and the total} */
    @Override
    public String toString() {
        List<String[]> cells = new ArrayList<>();
        cells.add(new String[] {"Layer", "Output shape", "Params"});
        for (Row r : rows) {
            String label = "  ".repeat(r.depth()) + (r.name().isEmpty() ? "" : r.name() + ": ") + r.layer();
            cells.add(new String[] {label, r.outputShape() == null ? "--" : Arrays.toString(r.outputShape()), String.format(Locale.ROOT, "%,d", r.parameters())});
        }
        int[] widths = new int[3];
        for (String[] c : cells) for (int i = 0; i < 3; i++) widths[i] = Math.max(widths[i], c[i].length());
        StringBuilder sb = new StringBuilder();
        for (String[] c : cells) sb.append(String.format(Locale.ROOT, "%-" + widths[0] + "s  %-" + widths[1] + "s  %" + widths[2] + "s%n", c[0], c[1], c[2]));
        return sb.append(String.format(Locale.ROOT, "Total params: %,d%n", totalParameters)).toString();
    }
}
