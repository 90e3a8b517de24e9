package dev.kiln.backend;

import dev.kiln.DType;

import java.util.function.BiConsumer;

/**
 * For backends whose {@link Backend#computesHalf} entry points meet a half-type call they cannot serve directly
 * (a layout their vendor library does not take): the operands are widened to float32 with the backend's casting
 * {@link Backend#copy}, the float32 entry point runs, and the result is rounded once into the half-type output.
 * That is the same computation a half-input product with float32 accumulation does.
 */
public final class HalfDefaults {
    private HalfDefaults() {}

    /**
     * Runs {@code op} on float32 copies of {@code inputs} into a float32 output, then rounds that into {@code out}.
     *
     * @param be the backend that allocates, copies and runs {@code op}
     * @param out the half-type output, overwritten
     * @param op the float32 computation: the widened inputs, in order, and the output it overwrites
     * @param inputs the half-type inputs
     */
    public static void widened(Backend be, View out, BiConsumer<View[], View> op, View... inputs) {
        View[] wide = new View[inputs.length];
        View wideOut = be.allocateView(DType.FLOAT32, out.shape());
        try {
            for (int i = 0; i < inputs.length; i++) {
                wide[i] = be.allocateView(DType.FLOAT32, inputs[i].shape());
                be.copy(inputs[i], wide[i]);
            }
            op.accept(wide, wideOut);
            be.copy(wideOut, out);
        } finally {
            be.release(wideOut.buffer());
            for (View v : wide) if (v != null) be.release(v.buffer());
        }
    }
}
