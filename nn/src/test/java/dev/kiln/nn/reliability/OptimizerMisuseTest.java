package dev.kiln.nn.reliability;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.optim.Adam;
import dev.kiln.nn.optim.RMSprop;
import dev.kiln.nn.optim.SGD;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Optimizers refuse nonsense hyperparameters where they are set, and step a parameter listed twice once (issue 14, findings 8, 14). */
class OptimizerMisuseTest {

    private static void assertRefused(Runnable r, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        for (String f : fragments) assertTrue(e.getMessage().contains(f), () -> "'" + e.getMessage() + "' should mention " + f);
    }

    @Test
    void invalidHyperparametersAreRefusedWhereTheyAreSet() {
        try (Scope s = Scope.open()) {
            Tensor p = Tensor.ones(2).requiresGrad(true);
            assertRefused(() -> new SGD(List.of(p), -0.1), "SGD", "lr", "-0.1");
            assertRefused(() -> new Adam(List.of(p), Double.NaN), "Adam", "lr", "NaN");
            assertRefused(() -> new Adam(List.of(p), 1e-3).betas(1.5, 0.999), "Adam", "beta1", "1.5", "[0, 1)");
            assertRefused(() -> new Adam(List.of(p), 1e-3).eps(-1e-8), "Adam", "eps");
            assertRefused(() -> new SGD(List.of(p), 0.1).momentum(-0.9), "SGD", "momentum");
            assertRefused(() -> new RMSprop(List.of(p), Double.POSITIVE_INFINITY), "RMSprop", "lr", "Infinity");
            assertRefused(() -> new SGD(List.of(), 0.1), "SGD", "empty parameter list");
            try (SGD sgd = new SGD(List.of(p), 0.1)) {
                assertRefused(() -> sgd.setLr(Double.NaN), "lr", "NaN");
                assertRefused(() -> sgd.paramGroups().getFirst().set("weight_decay", -1), "weight_decay");
                assertEquals(0.1, sgd.lr(), "a refused value changes nothing");
            }
        }
    }

    @Test
    void aParameterListedTwiceIsSteppedOnce() {
        try (Scope s = Scope.open()) {
            Tensor p = Tensor.ones(2).requiresGrad(true);
            try (SGD sgd = new SGD(List.of(p, p), 0.5)) {
                p.setGrad(Tensor.ones(2));
                sgd.step();
                assertArrayEquals(new float[] {0.5f, 0.5f}, p.toFloatArray(), "stepped once, not twice");
                assertEquals(1, sgd.paramGroups().getFirst().params().size());
            }
            Tensor q = Tensor.ones(2).requiresGrad(true);
            try (SGD sgd = new SGD(List.of(q), 0.5)) {
                assertRefused(() -> sgd.addParamGroup(List.of(q), Map.of()), "two parameter groups");
            }
        }
    }

    /** Finding 4: a step between a forward pass and its backward changes weights the graph saved; backward refuses. */
    @Test
    void aStepBeforeTheBackwardOfAGraphThatSavedTheWeightsIsRefused() {
        try (Scope s = Scope.open()) {
            Tensor w = Tensor.of(new float[] {1, 2}).requiresGrad(true);
            Tensor x = Tensor.of(new float[] {3, 4});
            try (SGD sgd = new SGD(List.of(w), 0.1)) {
                w.mul(x).sum().backward();
                Tensor pending = w.mul(x).sum();
                sgd.step();
                IllegalStateException e = assertThrows(IllegalStateException.class, pending::backward);
                assertTrue(e.getMessage().contains("mul") && e.getMessage().contains("modified by an inplace operation"), e.getMessage());
            }
        }
    }
}
