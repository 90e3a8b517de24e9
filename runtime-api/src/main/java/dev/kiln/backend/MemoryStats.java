package dev.kiln.backend;

/**
 * What a backend holds: bytes in live buffers, bytes kept in its cache for reuse, and the high-water mark of
 * live bytes.
 */
public record MemoryStats(long liveBytes, long cachedBytes, long peakLiveBytes) {
}
