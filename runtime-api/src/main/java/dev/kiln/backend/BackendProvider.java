package dev.kiln.backend;

import java.util.List;

/**
 * Found through {@link java.util.ServiceLoader}: one per backend module. A provider reports the devices it can
 * drive, or why it cannot drive any, without failing: a missing native library is a reason, not an exception.
 */
public interface BackendProvider {

    /** The device type this provider serves: "cpu", "opencl", "cuda". */
    String type();

    /** Devices found, best first; an empty list comes with a reason in {@link Candidate#unavailableReason}. */
    List<Candidate> probe();

    /**
     * One device this provider could serve. {@code priority} orders the automatic choice (higher wins):
     * CUDA 300, OpenCL GPU 200, pure-Java CPU 100, OpenCL CPU device wherever its benchmarks place it.
     * An unavailable candidate has a reason and no factory.
     */
    record Candidate(String device, String description, int priority, String unavailableReason,
                     java.util.function.Supplier<Backend> factory) {

        public static Candidate available(String device, String description, int priority, java.util.function.Supplier<Backend> factory) {
            return new Candidate(device, description, priority, null, factory);
        }

        public static Candidate unavailable(String device, String reason) {
            return new Candidate(device, "", Integer.MIN_VALUE, reason, null);
        }

        public boolean isAvailable() { return unavailableReason == null; }
    }
}
