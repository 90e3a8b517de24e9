package dev.kiln.testkit;

import dev.kiln.Device;
import dev.kiln.backend.Backend;
import dev.kiln.backend.DeviceProbe;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Counts the host round trips ({@link Backend#copyToHost}) made through a device's backend, and where they came
 * from. It interposes a proxy in front of the device's backend ({@link DeviceProbe#interpose}), so every tensor
 * created while it is open goes through the proxy. An SPI default method that the backend does not override runs
 * on the proxy, so the primitives it calls (a default {@link Backend#checkIndex} reading back, say) are counted
 * too; what a backend does inside its own overrides is its own business and not seen here.
 */
public final class HostReadCounter implements AutoCloseable {
    private final List<String> reads = new ArrayList<>();
    private final DeviceProbe.Interposition interposition;

    /** Starts counting on {@code device}'s backend and makes it the default device. */
    public HostReadCounter(Device device) {
        interposition = DeviceProbe.interpose(device, this::wrap);
        DeviceProbe.setDefault(device);
    }

    private Backend wrap(Backend target) {
        InvocationHandler handler = (proxy, method, args) -> {
            if (method.getName().equals("copyToHost")) {
                synchronized (reads) {
                    reads.add(caller());
                }
            }
            if (method.isDefault() && !overrides(target, method)) return InvocationHandler.invokeDefault(proxy, method, args);
            try {
                return method.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, handler);
    }

    private static boolean overrides(Backend target, Method m) {
        try {
            return !target.getClass().getMethod(m.getName(), m.getParameterTypes()).isDefault();
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    /** The Kiln frames above the backend that asked for the read: the op that waited for the host. */
    private static String caller() {
        return StackWalker.getInstance().walk(frames -> frames
                .filter(f -> f.getClassName().startsWith("dev.kiln.") && !f.getClassName().startsWith("dev.kiln.testkit.")
                        && !f.getClassName().startsWith("dev.kiln.backend."))
                .limit(4)
                .map(f -> f.getClassName().substring(f.getClassName().lastIndexOf('.') + 1) + "." + f.getMethodName() + ":" + f.getLineNumber())
                .collect(Collectors.joining(" < ")));
    }

    /** Host reads so far. */
    public int count() {
        synchronized (reads) {
            return reads.size();
        }
    }

    /** Where each read so far came from, one line each, with counts. */
    public String callers() {
        synchronized (reads) {
            return reads.stream().collect(Collectors.groupingBy(r -> r, java.util.TreeMap::new, Collectors.counting())).entrySet().stream()
                    .map(e -> e.getValue() + " x " + e.getKey()).collect(Collectors.joining("\n"));
        }
    }

    public void reset() {
        synchronized (reads) {
            reads.clear();
        }
    }

    /** Restores the device's backend; tensors made through the proxy keep working, as it delegates. */
    @Override
    public void close() { interposition.close(); }
}
