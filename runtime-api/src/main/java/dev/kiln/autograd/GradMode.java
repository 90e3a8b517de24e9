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

    public static boolean isEnabled() { return ENABLED.get()[0]; }

    public static GradMode noGrad() { return new GradMode(false); }

    public static GradMode enableGrad() { return new GradMode(true); }

    @Override
    public void close() { ENABLED.get()[0] = previous; }
}
