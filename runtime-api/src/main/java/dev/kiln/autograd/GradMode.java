package dev.kiln.autograd;

/**
 * Whether ops record the graph on this thread. {@code try (var g = GradMode.noGrad()) { ... }} turns recording off
 * for inference and optimizer updates; the previous mode returns when the block ends.
 */
public final class GradMode implements AutoCloseable {
    private static final ThreadLocal<boolean[]> ENABLED = ThreadLocal.withInitial(() -> new boolean[] {true});
    private final boolean previous;

    private GradMode(boolean enabled) {
        boolean[] state = ENABLED.get();
        previous = state[0];
        state[0] = enabled;
    }

    /** {@return whether ops record the graph on this thread now} */
    public static boolean isEnabled() { return ENABLED.get()[0]; }

    /** {@return a handle that turns recording off on this thread until it is closed (PyTorch's {@code no_grad})} */
    public static GradMode noGrad() { return new GradMode(false); }

    /** {@return a handle that turns recording on on this thread until it is closed (PyTorch's {@code enable_grad})} */
    public static GradMode enableGrad() { return new GradMode(true); }

    /** Restores the mode that was in force when this handle was made. */
    @Override
    public void close() { ENABLED.get()[0] = previous; }
}
