package dev.kiln.testkit;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.backend.Backend;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Scope ownership: what a scope closes, what {@code keep} hands up, and that tensors which left are never closed. */
class ScopeConformanceTest {

    @BackendTest
    void keptTensorsMoveToTheEnclosingScope(TestDevice device) {
        device.activate();
        Tensor temp, result;
        try (Scope outer = Scope.open()) {
            try (Scope inner = Scope.open()) {
                temp = Tensor.ones(3);
                result = inner.keep(temp.add(1));
                assertEquals(1, inner.size(), "the kept result left the inner scope");
                assertEquals(1, outer.size(), "and joined the outer one");
            }
            assertTrue(temp.isClosed(), "a temporary dies with its scope");
            assertFalse(result.isClosed(), "a kept tensor outlives it");
            assertEquals(2, result.toFloatArray()[0]);
        }
        assertTrue(result.isClosed(), "the enclosing scope closes what was handed up");
    }

    @BackendTest
    void tensorsThatLeftAreSkippedHoweverMany(TestDevice device) {
        Backend be = device.activate();
        long start = Ref.settledLiveBytes(be);
        List<Tensor> kept = new ArrayList<>();
        List<Tensor> owned = new ArrayList<>();
        try (Scope s = Scope.open()) {
            // Enough departures to make the scope compact its list several times.
            for (int i = 0; i < 1000; i++) {
                Tensor t = Tensor.full(i, 2);
                if (i % 10 == 0) owned.add(t);
                else kept.add(s.keep(t));
            }
            assertEquals(owned.size(), s.size());
        }
        for (Tensor t : owned) assertTrue(t.isClosed(), "owned tensors close with the scope");
        for (int i = 0; i < kept.size(); i++) {
            Tensor t = kept.get(i);
            assertFalse(t.isClosed(), "a tensor kept out of the outermost scope belongs to no scope");
            assertEquals(i + 1 + i / 9, t.toFloatArray()[1], "its data is intact");
            t.close();
        }
        // Not above the start: garbage that earlier tests dropped may be collected meanwhile, so it may fall.
        assertTrue(be.memoryStats().liveBytes() <= start, "every buffer went back");
    }

    @BackendTest
    void scopesLeftOpenByAThreadThatEndedAreFreedEventually(TestDevice device) throws InterruptedException {
        Backend be = device.activate();
        long start = Ref.settledLiveBytes(be);
        Thread careless = new Thread(() -> {
            Scope.open();
            Tensor.ones(1 << 16).add(1);
        });
        careless.start();
        careless.join();
        assertTrue(be.memoryStats().liveBytes() > start, "the thread's tensors are still held");
        // Two collections at least: one finds the thread's scopes unreachable, the next the storage they guarded.
        long now = be.memoryStats().liveBytes();
        for (int i = 0; i < 200 && now > start; i++) {
            System.gc();
            Thread.sleep(20);
            now = be.memoryStats().liveBytes();
        }
        assertTrue(now <= start, "what the ended thread's open scope owned went back to the backend: " + now + " live bytes, " + start + " before");
    }

    @BackendTest
    void closingEarlyThenClosingTheScopeIsHarmless(TestDevice device) {
        Backend be = device.activate();
        long start = Ref.settledLiveBytes(be);
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.ones(4);
            Tensor view = a.reshape(2, 2);
            a.close();
            assertEquals(4, view.sum().item(), "a view keeps the storage alive after its base closed");
        }
        assertTrue(be.memoryStats().liveBytes() <= start, "the scope released the rest");
    }

    @BackendTest
    void usingATensorItsScopeClosedNamesTheScopeAndTheFix(TestDevice device) {
        device.activate();
        Tensor t;
        try (Scope s = Scope.open()) {
            t = Tensor.ones(2, 3);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, t::toFloatArray);
        assertTrue(e.getMessage().matches("read: tensor of shape \\[2, 3] on .+ was closed when scope #\\d+ \\(run with -Dkiln.debugScopes=true to see where "
                + "it was opened\\) closed; call scope.keep\\(t\\) or create it outside the scope"), e.getMessage());
        Tensor closedByHand = Tensor.ones(2);
        closedByHand.close();
        assertEquals("add: tensor of shape [2] on " + device.device() + " was closed",
                assertThrows(IllegalStateException.class, () -> closedByHand.add(1)).getMessage());
    }
}
