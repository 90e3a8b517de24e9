package dev.kiln.backend;

/**
 * A backend could not allocate a buffer. Before this reaches the user, the tensor layer collects tensors that
 * were dropped without {@code close()}, waits for their buffers to come back, empties the backend's cache and
 * tries once more; a backend throws this only after its own cache was freed.
 */
public class OutOfDeviceMemoryException extends IllegalStateException {
    /**
     * An allocation failure.
     *
     * @param message what was asked for and what the device had
     */
    public OutOfDeviceMemoryException(String message) { super(message); }

    /**
     * An allocation failure reported by a driver.
     *
     * @param message what was asked for and what the device had
     * @param cause the driver's error
     */
    public OutOfDeviceMemoryException(String message, Throwable cause) { super(message, cause); }

}
