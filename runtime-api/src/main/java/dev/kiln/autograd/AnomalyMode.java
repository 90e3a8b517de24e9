package dev.kiln.autograd;

import dev.kiln.DType;
import dev.kiln.Tensor;

import java.util.Arrays;

/**
 * Anomaly detection, like PyTorch's {@code detect_anomaly}: while enabled on this thread, the output of every
 * recorded op and every backward rule's gradients are checked, and the first NaN or infinity stops with an
 * exception naming the op that produced it, instead of surfacing later as NaN parameters. Each check reads a value back
 * to the host, so this is a debugging aid, off by default:
 * {@code try (var a = AnomalyMode.detect()) { loss.backward(); }}.
 */
public final class AnomalyMode implements AutoCloseable {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {false});
    private final boolean previous;

    private AnomalyMode() {
        boolean[] state = ENABLED.get();
        previous = state[0];
        state[0] = true;
    }

    /** {@return a handle that turns anomaly detection on for this thread until it is closed} */
    public static AnomalyMode detect() { return new AnomalyMode(); }

    /** {@return whether anomaly detection is on for this thread} */
    public static boolean isEnabled() { return ENABLED.get()[0]; }

    /**
     * Throws if any of the gradients {@code node}'s rule returned holds a NaN or an infinity.
     *
     * @param node the op whose backward rule ran
     * @param grads the gradients it returned, one per input (null entries are skipped)
     * @throws IllegalStateException naming the op, the input and how many values are not finite
     */
    public static void check(Node node, Tensor[] grads) {
        for (int i = 0; i < grads.length; i++) {
            long bad = nonFinite(grads[i]);
            if (bad > 0)
                throw new IllegalStateException("anomaly: the backward of " + node.op() + " produced " + bad + " NaN or infinite values in the gradient of input "
                        + i + " (shape " + Arrays.toString(grads[i].shape()) + ")");
        }
    }

    /**
     * Throws if the forward output of {@code op} holds a NaN or an infinity.
     *
     * @param op the op's name
     * @param out its output
     * @throws IllegalStateException naming the op and how many values are not finite
     */
    public static void checkOutput(String op, Tensor out) {
        long bad = nonFinite(out);
        if (bad > 0)
            throw new IllegalStateException("anomaly: " + op + " produced " + bad + " NaN or infinite values (shape " + Arrays.toString(out.shape()) + ")");
    }

    private static long nonFinite(Tensor t) {
        if (t == null || !t.dtype().isFloatingPoint() || t.numel() == 0) return 0;
        try (GradMode ignored = GradMode.noGrad();
             Tensor finite = t.isNan().logicalOr(t.abs().eq(Double.POSITIVE_INFINITY));
             Tensor count = finite.to(DType.INT64).sum()) {
            return (long) count.item();
        }
    }

    /** Restores the mode that was in force when this handle was made. */
    @Override
    public void close() { ENABLED.get()[0] = previous; }
}
