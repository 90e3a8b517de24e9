package dev.kiln.nn.models;

import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.nn.optim.AdamW;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The model zoo's GPT: sizes as nanoGPT's, causality, and that it learns. */
class GptTest {
    private static final Gpt.Config TINY = new Gpt.Config(7, 8, 2, 2, 16, true);

    @Test
    void nanoGptCpuConfigurationHasNanoGptsParameterCount() {
        try (Gpt gpt = new Gpt(Gpt.Config.nanoGptCpu())) {
            // wte 65*128 + wpe 64*128 + 4 blocks of (12*128^2 + two norm weights of 128) + ln_f 128; the head is tied to wte.
            assertEquals(65 * 128 + 64 * 128 + 4 * (12 * 128 * 128 + 2 * 128) + 128, gpt.parameterCount());
            assertTrue(gpt.namedParameters().containsKey("h.3.attn.c_attn.weight"), gpt.namedParameters().keySet().toString());
        }
    }

    @Test
    void logitsHaveOneRowPerTokenAndRefuseTooLongContexts() {
        Kiln.manualSeed(1);
        try (Scope s = Scope.open(); Gpt gpt = new Gpt(TINY)) {
            Tensor logits = gpt.forward(Tensor.randint(0, 7, 3, 5));
            assertArrayEquals(new int[] {3, 5, 7}, logits.shape());
            assertThrows(IllegalArgumentException.class, () -> gpt.forward(Tensor.randint(0, 7, 1, 9)));
        }
    }

    @Test
    void aLaterTokenDoesNotChangeEarlierLogits() {
        Kiln.manualSeed(2);
        try (Scope s = Scope.open(); Gpt gpt = new Gpt(TINY)) {
            long[] a = {1, 2, 3, 4, 5, 6}, b = a.clone();
            b[4] = 0;
            float[] la = gpt.forward(Tensor.of(a, 1, 6)).toFloatArray(), lb = gpt.forward(Tensor.of(b, 1, 6)).toFloatArray();
            int v = TINY.vocabSize();
            for (int i = 0; i < 4 * v; i++) assertEquals(la[i], lb[i], 1e-6, "logit " + i + " before the changed token");
            boolean laterChanged = false;
            for (int i = 4 * v; i < 6 * v; i++) laterChanged |= Math.abs(la[i] - lb[i]) > 1e-4;
            assertTrue(laterChanged, "the changed token and the one after it must see the change");
        }
    }

    @Test
    void aFewAdamWStepsLearnARepeatedText() {
        Kiln.manualSeed(3);
        long[] text = new long[9];
        for (int i = 0; i < text.length; i++) text[i] = i % 3;
        try (Scope s = Scope.open(); Gpt gpt = new Gpt(TINY); AdamW opt = new AdamW(gpt.parameters(), 1e-2)) {
            Tensor x = Tensor.of(java.util.Arrays.copyOfRange(text, 0, 8), 1, 8), y = Tensor.of(java.util.Arrays.copyOfRange(text, 1, 9), 1, 8);
            double first = 0, last = 0;
            for (int step = 0; step < 30; step++) {
                try (Scope iteration = Scope.open()) {
                    Tensor loss = gpt.loss(x, y);
                    opt.zeroGrad();
                    loss.backward();
                    opt.step();
                    last = loss.item();
                    if (step == 0) first = last;
                }
            }
            assertTrue(last < 0.2 * first, "loss went from " + first + " to " + last);
        }
    }
}
