package dev.kiln.backend;

import java.util.List;

/**
 * Found through {@link java.util.ServiceLoader}: one per backend module. A provider reports the devices it can
 * drive, or why it cannot drive any, without failing: a missing native library is a reason, not an exception.
 */
public interface BackendProvider {

    /**
     * The device type this provider serves: "cpu", "opencl", "cuda".
     *
     * @return the type
     */
    String type();

    /**
     * Devices found, best first; an empty list comes with a reason in {@link Candidate#unavailableReason}.
     *
     * @return the candidates, never null
     */
    List<Candidate> probe();

    /**
     * One device this provider could serve. {@code priority} orders the automatic choice (higher wins):
     * CUDA 300, OpenCL GPU 200, pure-Java CPU 100, OpenCL CPU device wherever its benchmarks place it.
     * An unavailable candidate has a reason and no factory.
     *
     * @param device the device's name, e.g. {@code opencl:0}
     * @param description what it is, for the probe table
     * @param priority the automatic choice's rank (higher wins)
     * @param unavailableReason why it cannot be used, or null when it can
     * @param factory opens the backend; null when unavailable
     */
    record Candidate(String device, String description, int priority, String unavailableReason,
                     java.util.function.Supplier<Backend> factory) {

        /**
         * A device that can be used.
         *
         * @param device the device's name
         * @param description what it is
         * @param priority the automatic choice's rank
         * @param factory opens the backend
         * @return the candidate
         */
        public static Candidate available(String device, String description, int priority, java.util.function.Supplier<Backend> factory) {
            return new Candidate(device, description, priority, null, factory);
        }

        /**
         * A device that cannot be used, and why.
         *
         * @param device the device's name (or the backend type)
         * @param reason why it cannot be used, with the fix where there is one
         * @return the candidate
         */
        public static Candidate unavailable(String device, String reason) {
            return new Candidate(device, "", Integer.MIN_VALUE, reason, null);
        }

        /**
         * {@return whether the device can be used}
         */
        public boolean isAvailable() { return unavailableReason == null; }
    }
}
