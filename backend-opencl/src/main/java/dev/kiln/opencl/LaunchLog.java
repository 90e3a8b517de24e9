package dev.kiln.opencl;

import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_event;

import java.util.ArrayList;
import java.util.List;

/**
 * Execution status of the work on one queue. Enqueueing only says that a command was accepted; whether it ran
 * shows in its event. Every synchronisation point checks the event of its own command (the read, or a marker),
 * which on an in-order queue fails when an earlier command failed. With {@code -Dkiln.opencl.debug=true} every
 * launch also keeps an event with its kernel's name, and the synchronisation point names the first kernel that
 * failed. Not thread-safe: the backend calls it under its lock.
 */
final class LaunchLog {
    /** {@code -Dkiln.opencl.debug=true}: an event per launch, and released buffers poisoned with NaN. */
    static final boolean DEBUG_PROPERTY = Boolean.getBoolean("kiln.opencl.debug");

    private final String device;
    private final boolean debug;
    private final List<cl_event> events = new ArrayList<>();
    private final List<String> kernels = new ArrayList<>();

    LaunchLog(String device, boolean debug) {
        this.device = device;
        this.debug = debug;
    }

    boolean debugging() { return debug; }

    /** The event to give a launch of {@code kernel}, or null where launches are not followed (not debugging). */
    cl_event launchEvent(String kernel) {
        if (!debug) return null;
        cl_event e = new cl_event();
        events.add(e);
        kernels.add(kernel);
        return e;
    }

    /** Forgets a launch whose enqueue threw (its event was never created). */
    void enqueueFailed(cl_event e) {
        int at = events.lastIndexOf(e);
        if (at >= 0) {
            events.remove(at);
            kernels.remove(at);
        }
    }

    /**
     * Called once {@code syncEvent} (the read or marker of a synchronisation point, complete by now) finished:
     * throws {@link IllegalStateException} naming the failed kernel (debugging) or the synchronisation point.
     */
    void check(String syncPoint, cl_event syncEvent) {
        try {
            for (int i = 0; i < events.size(); i++) {
                int status = status(events.get(i));
                if (status < 0)
                    throw new IllegalStateException("OpenCL kernel " + kernels.get(i) + " on " + device + " failed while running: "
                            + CL.stringFor_errorCode(status) + " (found at " + syncPoint + ")");
            }
            int status = status(syncEvent);
            if (status < 0)
                throw new IllegalStateException(syncPoint + " on " + device + ": the device reported " + CL.stringFor_errorCode(status)
                        + " for it or for an earlier kernel; -Dkiln.opencl.debug=true names the kernel");
        } finally {
            for (cl_event e : events) CL.clReleaseEvent(e);
            events.clear();
            kernels.clear();
            CL.clReleaseEvent(syncEvent);
        }
    }

    private static int status(cl_event e) {
        int[] status = new int[1];
        try {
            CL.clGetEventInfo(e, CL.CL_EVENT_COMMAND_EXECUTION_STATUS, Sizeof.cl_int, Pointer.to(status), null);
        } catch (CLException ex) {
            return ex.getStatus() < 0 ? ex.getStatus() : CL.CL_INVALID_EVENT;
        }
        return status[0];
    }
}
