package dev.kiln.backend;

/**
 * What a backend holds: bytes in live buffers, bytes kept in its cache for reuse, and the high-water mark of
 * live bytes.
 *
 * @param liveBytes bytes in buffers in use
 * @param cachedBytes bytes kept for reuse
 * @param peakLiveBytes the most live bytes there have been
 */
public record MemoryStats(long liveBytes, long cachedBytes, long peakLiveBytes) {
}
