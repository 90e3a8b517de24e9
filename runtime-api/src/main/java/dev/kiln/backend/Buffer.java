package dev.kiln.backend;

/**
 * An opaque block of device memory owned by one {@link Backend}. Nothing outside the backend that made it may
 * assume it is host memory; tensors reach its contents only through the backend's copy entry points.
 */
public interface Buffer {
    /** {@return the size of the block in bytes} */
    long byteSize();
}
