package dev.kiln.nn.optim;

import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.kiln.nn.Check.close;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Each schedule against its closed form. */
class ScheduleTest {
    private static final double BASE = 0.1;

    @Test
    void stepMultiStepExponential() {
        LrSchedule step = LrSchedule.step(3, 0.5);
        assertEquals(BASE, step.lr(BASE, 2));
        assertEquals(BASE * 0.5, step.lr(BASE, 3));
        assertEquals(BASE * 0.25, step.lr(BASE, 7));
        LrSchedule multi = LrSchedule.multiStep(new long[] {5, 2}, 0.1);
        close(new double[] {BASE, BASE * 0.1, BASE * 0.1, BASE * 0.01},
                new double[] {multi.lr(BASE, 1), multi.lr(BASE, 2), multi.lr(BASE, 4), multi.lr(BASE, 5)}, 1e-15, "multistep");
        close(BASE * Math.pow(0.9, 4), LrSchedule.exponential(0.9).lr(BASE, 4), 1e-15, "exponential");
    }

    @Test
    void cosineWarmupAndOneCycle() {
        LrSchedule cos = LrSchedule.cosine(10, 0.001);
        for (int t = 0; t <= 12; t++)
            close(0.001 + (BASE - 0.001) * (1 + Math.cos(Math.PI * Math.min(t, 10) / 10)) / 2, cos.lr(BASE, t), 1e-15, "cosine t=" + t);
        LrSchedule wc = LrSchedule.warmupCosine(4, 14, 0);
        close(new double[] {BASE / 4, BASE / 2, BASE * 3 / 4, BASE}, new double[] {wc.lr(BASE, 0), wc.lr(BASE, 1), wc.lr(BASE, 2), wc.lr(BASE, 3)},
                1e-15, "linear warm-up");
        close(BASE, wc.lr(BASE, 4), 1e-15, "cosine starts at the base");
        close(BASE / 2, wc.lr(BASE, 9), 1e-15, "cosine half way");
        close(0, wc.lr(BASE, 14), 1e-15, "cosine end");

        LrSchedule oc = LrSchedule.oneCycle(100, 0.3, 25, 1e4);
        close(BASE / 25, oc.lr(BASE, 0), 1e-15, "one-cycle start");
        close(BASE, oc.lr(BASE, 29), 1e-15, "one-cycle peak at pct_start * total - 1");
        close(BASE / 25 / 1e4, oc.lr(BASE, 99), 1e-15, "one-cycle end");
        double mid = 29 + (99 - 29) / 2.0;
        close((BASE + BASE / 25 / 1e4) / 2, oc.lr(BASE, (long) mid), 1e-3, "one-cycle descent midpoint");
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.oneCycle(1, 0.3, 25, 1e4));
    }

    @Test
    void schedulesCompose() {
        LrSchedule warm = LrSchedule.linear(0.1, 1, 5);
        LrSchedule seq = warm.then(5, LrSchedule.exponential(0.5));
        close(BASE * 0.1, seq.lr(BASE, 0), 1e-15, "first part");
        close(BASE, seq.lr(BASE, 5), 1e-15, "second part starts at its own step 0");
        close(BASE * 0.25, seq.lr(BASE, 7), 1e-15, "second part");
        LrSchedule chained = LrSchedule.step(2, 0.5).chain(LrSchedule.exponential(0.9));
        close(BASE * 0.5 * Math.pow(0.9, 3), chained.lr(BASE, 3), 1e-15, "chained factors multiply");
    }

    @Test
    void schedulerDrivesGroupsAndRoundTrips() {
        Tensor p = Tensor.ones(2).requiresGrad(true), q = Tensor.ones(2).requiresGrad(true);
        SGD opt = new SGD(List.of(p), 0.1);
        opt.addParamGroup(List.of(q), java.util.Map.of("lr", 1.0));
        LRScheduler s = new LRScheduler(opt, LrSchedule.step(1, 0.5));
        s.step();
        s.step();
        close(new double[] {0.025, 0.25}, opt.paramGroups().stream().mapToDouble(ParamGroup::lr).toArray(), 1e-15, "after two steps");
        SGD opt2 = new SGD(List.of(p), 0.1);
        opt2.addParamGroup(List.of(q), java.util.Map.of("lr", 1.0));
        LRScheduler s2 = new LRScheduler(opt2, LrSchedule.step(1, 0.5));
        s2.loadState(s.stateJson());
        s.step();
        s2.step();
        assertEquals(opt.paramGroups().get(1).lr(), opt2.paramGroups().get(1).lr());
        assertEquals(3, s2.stepCount());
    }

    @Test
    void reduceOnPlateauWaitsForPatienceThenCoolsDown() {
        SGD opt = new SGD(List.of(Tensor.ones(1).requiresGrad(true)), 1.0);
        ReduceLROnPlateau r = new ReduceLROnPlateau(opt, ReduceLROnPlateau.Mode.MIN, 0.5, 1, 0, 1, 0.2);
        double[] metrics = {1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9};
        double[] expected = {1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25};
        for (int i = 0; i < metrics.length; i++) {
            r.step(metrics[i]);
            close(expected[i], opt.lr(), 1e-15, "check " + i);
        }
        for (int i = 0; i < 6; i++) r.step(0.9);
        close(0.2, opt.lr(), 1e-15, "floored at minLr");
        ReduceLROnPlateau copy = new ReduceLROnPlateau(opt, ReduceLROnPlateau.Mode.MIN, 0.5, 1, 0, 1, 0.2);
        copy.loadState(r.stateJson());
        assertEquals(r.stateJson(), copy.stateJson());
        assertThrows(UnsupportedOperationException.class, r::step);
    }

    @Test
    void gradientClipping() {
        Tensor a = Tensor.zeros(2).requiresGrad(true), b = Tensor.zeros(1).requiresGrad(true);
        a.setGrad(Tensor.of(new float[] {3, 0}, 2));
        b.setGrad(Tensor.of(new float[] {4}, 1));
        double norm = Gradients.clipNorm(List.of(a, b), 1.0).item();
        close(5, norm, 1e-6, "total norm before clipping");
        close(new double[] {0.6, 0}, a.grad().toDoubleArray(), 1e-6, "scaled");
        close(new double[] {0.8}, b.grad().toDoubleArray(), 1e-6, "scaled");
        close(0.8, Gradients.clipNorm(List.of(a, b), 10, Double.POSITIVE_INFINITY).item(), 1e-6, "max norm, no clipping needed");
        close(new double[] {0.8}, b.grad().toDoubleArray(), 1e-6, "unchanged below the limit");
        Gradients.clipValue(List.of(a, b), 0.7);
        close(new double[] {0.6, 0}, a.grad().toDoubleArray(), 1e-6, "within the value limit");
        close(new double[] {0.7}, b.grad().toDoubleArray(), 1e-6, "clamped");
    }
}
