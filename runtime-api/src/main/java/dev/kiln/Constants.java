package dev.kiln;

import dev.kiln.autograd.GradMode;
import dev.kiln.backend.Backend;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Constant tensors that ops need on every call (the causal attention bias, average-pool divisors, adaptive-pool
 * matrices), built once per (backend, dtype, kind, parameters) and then served from the device: uploading them per
 * call would cost a transfer each step, and building them from device ops a handful of launches. At most
 * {@link #CAPACITY} are held; the least recently used is closed when a new one arrives, so a model that sweeps
 * through shapes cannot grow the cache without bound. Callers use a constant as an operand and never close it.
 */
final class Constants {
    static final int CAPACITY = 64;

    private record Key(Backend backend, DType dtype, String kind, int[] params) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && k.backend == backend && k.dtype == dtype && k.kind.equals(kind) && Arrays.equals(k.params, params);
        }

        @Override
        public int hashCode() { return java.util.Objects.hash(System.identityHashCode(backend), dtype, kind, Arrays.hashCode(params)); }
    }

    private static final Map<Key, Tensor> CACHE = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Key, Tensor> eldest) {
            if (size() <= CAPACITY) return false;
            eldest.getValue().close();
            return true;
        }
    };

    private Constants() {}

    /** Closes every cached constant; the next use builds it again. */
    static void clear() {
        synchronized (CACHE) {
            CACHE.values().forEach(Tensor::close);
            CACHE.clear();
        }
    }

    /** The constant named by {@code kind} and {@code params} on {@code backend} in {@code dtype}, built on first use. */
    static Tensor get(String kind, DType dtype, Backend backend, Supplier<Tensor> build, int... params) {
        Key key = new Key(backend, dtype, kind, params.clone());
        synchronized (CACHE) {
            Tensor t = CACHE.get(key);
            if (t != null) return t;
        }
        Tensor built;
        try (GradMode ignored = GradMode.noGrad(); Scope scope = Scope.open()) {
            built = scope.keep(build.get());
        }
        Scope.escape(built);
        synchronized (CACHE) {
            Tensor raced = CACHE.putIfAbsent(key, built);
            if (raced == null) return built;
            built.close();
            return raced;
        }
    }
}
