package dev.kiln.backend;

import dev.kiln.Device;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Finds the backends on the class path, ranks their devices and opens the one the user asked for (system
 * property {@code kiln.device} or environment variable {@code KILN_DEVICE}) or, failing that, the best one.
 * An explicit request that cannot be met is an error, never a silent fallback. The choice and every rejected
 * candidate are logged once at {@code CONFIG}, which the JDK's default logging configuration does not print:
 * {@link #table()} (as {@code kiln devices} prints it) shows them, and {@code -Dkiln.verbose=true} (the
 * command's {@code --verbose}) prints Kiln's log from {@code CONFIG} up. The backends it opens are closed when
 * the JVM exits (or by {@link #closeAll}).
 */
public final class DeviceProbe {
    /** The parent of every Kiln logger; held so that the level set on it is not lost to garbage collection. */
    private static final Logger KILN_LOG = Logger.getLogger("dev.kiln");
    private static final Logger LOG = Logger.getLogger(DeviceProbe.class.getName());

    static {
        if (Boolean.getBoolean("kiln.verbose")) {
            ConsoleHandler handler = new ConsoleHandler();
            handler.setLevel(Level.CONFIG);
            KILN_LOG.addHandler(handler);
            KILN_LOG.setLevel(Level.CONFIG);
            KILN_LOG.setUseParentHandlers(false);
        }
    }
    private static final Object LOCK = new Object();
    private static volatile List<BackendProvider.Candidate> candidates;
    private static final Map<String, Backend> OPEN = new LinkedHashMap<>();
    private static boolean shutdownHookAdded;
    private static volatile Backend defaultBackend;

    /** What a program with no backend module on its class path is told. */
    static final String NO_BACKEND = "no Kiln backend is available: add dev.kiln:kiln-backend-cpu (or -opencl / -cuda) to your dependencies";

    private DeviceProbe() {}

    /**
     * Every candidate found, available ones first by priority, then the rejected ones with their reasons.
     *
     * @return the candidates, probed once per JVM
     */
    public static List<BackendProvider.Candidate> candidates() {
        List<BackendProvider.Candidate> c = candidates;
        if (c == null) {
            synchronized (LOCK) {
                if (candidates == null) candidates = probeAll();
                c = candidates;
            }
        }
        return c;
    }

    private static List<BackendProvider.Candidate> probeAll() {
        List<BackendProvider.Candidate> found = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            try {
                found.addAll(p.probe());
            } catch (RuntimeException | LinkageError e) {
                found.add(BackendProvider.Candidate.unavailable(p.type(), "probe failed: " + e));
            }
        }
        found.sort(Comparator.comparing((BackendProvider.Candidate c) -> !c.isAvailable())
                .thenComparing(Comparator.comparingInt(BackendProvider.Candidate::priority).reversed()));
        return List.copyOf(found);
    }

    /**
     * The probe's table as text, as {@code kiln devices} prints it.
     *
     * @return the table, one row per candidate, then the requested and default devices
     */
    public static String table() {
        StringBuilder sb = new StringBuilder();
        String requested = requestedDevice();
        sb.append(String.format("%-10s %-9s %-8s %s%n", "device", "status", "priority", "details"));
        for (BackendProvider.Candidate c : candidates()) {
            if (c.isAvailable()) sb.append(String.format("%-10s %-9s %-8d %s%n", c.device(), "available", c.priority(), c.description()));
            else sb.append(String.format("%-10s %-9s %-8s %s%n", c.device(), "rejected", "-", c.unavailableReason()));
        }
        sb.append("requested: ").append(requested == null ? "(none: automatic choice)" : requested).append('\n');
        String chosen = requested != null ? requested + " (requested)"
                : candidates().stream().filter(BackendProvider.Candidate::isAvailable).findFirst()
                        .map(c -> c.device() + " (automatic: the available device of highest priority)").orElse("(none available)");
        sb.append("default device: ").append(chosen).append('\n');
        return sb.toString();
    }

    /**
     * The device named by {@code -Dkiln.device} or {@code KILN_DEVICE}, or null.
     *
     * @return the requested device's name
     */
    public static String requestedDevice() {
        String p = System.getProperty("kiln.device");
        if (p != null && !p.isBlank()) return p.trim();
        String e = System.getenv("KILN_DEVICE");
        return e == null || e.isBlank() ? null : e.trim();
    }

    /**
     * The backend new tensors go to when no device is named: the requested one, else the best available.
     *
     * @return the backend
     * @throws IllegalStateException if no backend is available, saying what to add
     * @throws IllegalArgumentException if the requested device is not available
     */
    public static Backend defaultBackend() {
        Backend b = defaultBackend;
        if (b == null) {
            synchronized (LOCK) {
                if (defaultBackend == null) defaultBackend = chooseDefault();
                b = defaultBackend;
            }
        }
        return b;
    }

    /**
     * Makes {@code device} the default for tensors created without one (for this JVM).
     *
     * @param device the device
     * @throws IllegalArgumentException if it is not available
     */
    public static void setDefault(Device device) {
        Backend b = backend(device);
        synchronized (LOCK) {
            defaultBackend = b;
        }
    }

    private static Backend chooseDefault() {
        String requested = requestedDevice();
        if (requested != null) {
            Backend b = backend(Device.parse(requested));
            LOG.config(() -> "Kiln device " + b.device() + " (requested): " + b.description());
            return b;
        }
        List<BackendProvider.Candidate> all = candidates();
        if (all.isEmpty()) throw new IllegalStateException(NO_BACKEND);
        BackendProvider.Candidate best = all.stream().filter(BackendProvider.Candidate::isAvailable).findFirst()
                .orElseThrow(() -> new IllegalStateException("no Kiln backend is available: every backend found was rejected "
                        + "(the reasons say what to change):\n" + table()));
        Backend b = open(best);
        StringBuilder msg = new StringBuilder("Kiln device " + best.device() + " (automatic): " + best.description());
        for (BackendProvider.Candidate c : all) {
            if (!c.isAvailable()) msg.append("\n  rejected ").append(c.device()).append(": ").append(c.unavailableReason());
            else if (c != best) msg.append("\n  also available ").append(c.device()).append(" (priority ").append(c.priority()).append(')');
        }
        LOG.config(msg::toString);
        return b;
    }

    /**
     * The backend for a device, opened once and shared. {@code cuda} without an index means the best CUDA device.
     *
     * @throws IllegalArgumentException naming the request and what was found, when no such device is available
     *
     * @param device the device, with or without an index
     * @return the backend
     */
    public static Backend backend(Device device) {
        for (BackendProvider.Candidate c : candidates()) {
            if (c.isAvailable() && device.matches(Device.parse(c.device()))) return open(c);
        }
        List<String> sameType = candidates().stream().filter(BackendProvider.Candidate::isAvailable).map(BackendProvider.Candidate::device)
                .filter(d -> Device.parse(d).type().equals(device.type())).toList();
        StringBuilder why = new StringBuilder("device '" + device + "' was requested but is not available"
                + (sameType.isEmpty() ? "" : " (available " + device.type() + " devices: " + String.join(", ", sameType) + ")") + ". ");
        why.append(candidates().isEmpty() ? NO_BACKEND : "Probe results:\n" + table());
        throw new IllegalArgumentException(why.toString());
    }

    /** Undoes an {@link #interpose}. */
    public interface Interposition extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Puts {@code wrap} of a device's backend in its place, for instrumentation (the conformance kit counts host
     * round trips this way): tensors created afterwards on that device, through the default device too when it was
     * this one, go to the wrapper. Tensors made before keep the backend they were made on, so a caller creates
     * everything it measures after this call. Closing the result restores the backend.
     *
     * @param device the device whose backend is wrapped
     * @param wrap makes the wrapper from the backend
     * @return the handle that restores the backend when closed
     * @throws IllegalArgumentException if the device is not available
     */

    public static Interposition interpose(Device device, java.util.function.UnaryOperator<Backend> wrap) {
        BackendProvider.Candidate c = candidates().stream().filter(x -> x.isAvailable() && device.matches(Device.parse(x.device())))
                .findFirst().orElseThrow(() -> new IllegalArgumentException("interpose: device '" + device + "' is not available:\n" + table()));
        Backend original = open(c), wrapper = wrap.apply(original);
        swap(c.device(), original, wrapper);
        return () -> swap(c.device(), wrapper, original);
    }

    private static void swap(String key, Backend from, Backend to) {
        synchronized (OPEN) {
            OPEN.put(key, to);
        }
        synchronized (LOCK) {
            if (defaultBackend == from) defaultBackend = to;
        }
    }

    private static Backend open(BackendProvider.Candidate c) {
        synchronized (OPEN) {
            if (!shutdownHookAdded) {
                Runtime.getRuntime().addShutdownHook(new Thread(DeviceProbe::closeAll, "kiln-close-backends"));
                shutdownHookAdded = true;
            }
            return OPEN.computeIfAbsent(c.device(), k -> c.factory().get());
        }
    }

    /**
     * Closes every backend this probe opened and forgets them, so a later request opens a fresh one; tensors on a
     * closed backend can no longer be used. Runs by itself when the JVM exits. A backend that fails to close is
     * logged and the others are still closed.
     */
    public static void closeAll() {
        List<Backend> open;
        synchronized (OPEN) {
            open = new ArrayList<>(OPEN.values());
            OPEN.clear();
        }
        synchronized (LOCK) {
            defaultBackend = null;
        }
        for (Backend b : open) {
            try {
                b.close();
            } catch (RuntimeException e) {
                LOG.warning(() -> "closing " + b.device() + " failed: " + e);
            }
        }
    }
}
