package dev.kiln.testkit.reliability;

import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Assertions for refused input: Kiln's own exception type, with a message that names what was wrong. */
final class Refusal {
    private Refusal() {}

    static <T extends Throwable> T assertRefused(Class<T> type, Executable call, String... fragments) {
        T e = assertThrows(type, call);
        for (String f : fragments)
            assertTrue(e.getMessage() != null && e.getMessage().contains(f), () -> "message '" + e.getMessage() + "' should mention '" + f + "'");
        return e;
    }
}
