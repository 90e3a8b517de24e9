package dev.kiln.nn.optim;

import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static dev.kiln.nn.Check.close;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Each optimizer against its update rule computed by hand in double precision, over three steps. */
class OptimizerTest {
    private static final double[] P0 = {1.0, -2.0, 0.5};
    private static final double[][] GRADS = {{0.1, -0.3, 0.2}, {-0.2, 0.4, 0.0}, {0.3, 0.1, -0.5}};

    /** A float64 parameter, compared with float64 reference updates: skipped on a device without float64. */
    private static Tensor param() {
        dev.kiln.testkit.TestDevice.requireFloat64();
        return Tensor.of(P0.clone(), 3).requiresGrad(true);
    }

    /** Runs three steps with the fixed gradients and returns the parameter values after each. */
    private static double[][] run(Function<List<Tensor>, Optimizer> make) {
        Tensor p = param();
        Optimizer opt = make.apply(List.of(p));
        double[][] out = new double[3][];
        for (int t = 0; t < 3; t++) {
            p.setGrad(Tensor.of(GRADS[t].clone(), 3));
            opt.step();
            out[t] = p.toDoubleArray();
        }
        return out;
    }

    private static void assertSteps(double[][] expected, double[][] actual, String what) {
        for (int t = 0; t < 3; t++) close(expected[t], actual[t], 1e-12, what + " step " + (t + 1));
    }

    @Test
    void sgdWithMomentumNesterovAndWeightDecay() {
        double lr = 0.1, mu = 0.9, wd = 0.01;
        for (boolean nesterov : new boolean[] {false, true}) {
            double[] p = P0.clone(), buf = new double[3];
            double[][] expected = new double[3][];
            for (int t = 0; t < 3; t++) {
                for (int i = 0; i < 3; i++) {
                    double g = GRADS[t][i] + wd * p[i];
                    buf[i] = t == 0 ? g : mu * buf[i] + g;
                    double d = nesterov ? g + mu * buf[i] : buf[i];
                    p[i] -= lr * d;
                }
                expected[t] = p.clone();
            }
            assertSteps(expected, run(ps -> new SGD(ps, lr).momentum(mu).weightDecay(wd).nesterov(nesterov)), "sgd nesterov=" + nesterov);
        }
        double[] plain = P0.clone();
        for (int i = 0; i < 3; i++) plain[i] -= 0.5 * GRADS[0][i];
        close(plain, run(ps -> new SGD(ps, 0.5))[0], 1e-12, "plain sgd");
    }

    @Test
    void adamAndAdamW() {
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        for (boolean decoupled : new boolean[] {false, true}) {
            double[] p = P0.clone(), m = new double[3], v = new double[3];
            double[][] expected = new double[3][];
            for (int t = 1; t <= 3; t++) {
                for (int i = 0; i < 3; i++) {
                    double g = GRADS[t - 1][i];
                    if (decoupled) p[i] *= 1 - lr * wd;
                    else g += wd * p[i];
                    m[i] = b1 * m[i] + (1 - b1) * g;
                    v[i] = b2 * v[i] + (1 - b2) * g * g;
                    double denom = Math.sqrt(v[i]) / Math.sqrt(1 - Math.pow(b2, t)) + eps;
                    p[i] -= lr / (1 - Math.pow(b1, t)) * m[i] / denom;
                }
                expected[t - 1] = p.clone();
            }
            double[][] actual = decoupled ? run(ps -> new AdamW(ps, lr).weightDecay(wd)) : run(ps -> new Adam(ps, lr).weightDecay(wd));
            assertSteps(expected, actual, decoupled ? "adamw" : "adam");
        }
    }

    @Test
    void rmsprop() {
        double lr = 0.01, alpha = 0.99, eps = 1e-8, mu = 0.5;
        double[] p = P0.clone(), sq = new double[3], avg = new double[3], buf = new double[3];
        double[][] expected = new double[3][];
        for (int t = 0; t < 3; t++) {
            for (int i = 0; i < 3; i++) {
                double g = GRADS[t][i];
                sq[i] = alpha * sq[i] + (1 - alpha) * g * g;
                avg[i] = alpha * avg[i] + (1 - alpha) * g;
                double d = Math.sqrt(sq[i] - avg[i] * avg[i]) + eps;
                buf[i] = mu * buf[i] + g / d;
                p[i] -= lr * buf[i];
            }
            expected[t] = p.clone();
        }
        assertSteps(expected, run(ps -> new RMSprop(ps, lr).momentum(mu).centered(true)), "rmsprop centered with momentum");
    }

    @Test
    void adagrad() {
        double lr = 0.1, decay = 0.01, init = 0.1, eps = 1e-10;
        double[] p = P0.clone(), sum = {init, init, init};
        double[][] expected = new double[3][];
        for (int t = 1; t <= 3; t++) {
            double clr = lr / (1 + (t - 1) * decay);
            for (int i = 0; i < 3; i++) {
                double g = GRADS[t - 1][i];
                sum[i] += g * g;
                p[i] -= clr * g / (Math.sqrt(sum[i]) + eps);
            }
            expected[t - 1] = p.clone();
        }
        assertSteps(expected, run(ps -> new Adagrad(ps, lr).lrDecay(decay).initialAccumulatorValue(init)), "adagrad");
    }

    @Test
    void parameterGroupsOverrideDefaults() {
        Tensor a = param(), b = param();
        SGD opt = new SGD(List.of(a), 0.1);
        opt.addParamGroup(List.of(b), Map.of("lr", 1.0));
        a.setGrad(Tensor.of(new double[] {1, 1, 1}, 3));
        b.setGrad(Tensor.of(new double[] {1, 1, 1}, 3));
        opt.step();
        close(new double[] {0.9, -2.1, 0.4}, a.toDoubleArray(), 1e-12, "group 0 at lr 0.1");
        close(new double[] {0.0, -3.0, -0.5}, b.toDoubleArray(), 1e-12, "group 1 at lr 1");
        assertThrows(IllegalArgumentException.class, () -> opt.addParamGroup(List.of(a), Map.of()), "a parameter in two groups");
        assertThrows(IllegalArgumentException.class, () -> opt.paramGroups().get(0).set("betas", 1));
        assertThrows(IllegalArgumentException.class, () -> new SGD(List.of(Tensor.ones(2)), 0.1), "not requiring grad");
        opt.zeroGrad();
        assertEquals(null, a.grad());
    }

    @Test
    void stateRoundTripContinuesIdentically() {
        Tensor p = param(), q = param();
        Adam a = new Adam(List.of(p), 0.01);
        p.setGrad(Tensor.of(GRADS[0].clone(), 3));
        a.step();
        Adam b = new Adam(List.of(q), 0.5);
        try (var g = dev.kiln.autograd.GradMode.noGrad()) {
            q.copy_(p);
        }
        b.loadState(a.stateJson(), a.stateTensors());
        assertEquals(0.01, b.lr());
        for (Tensor x : List.of(p, q)) x.setGrad(Tensor.of(GRADS[1].clone(), 3));
        a.step();
        b.step();
        assertArrayEquals(p.toDoubleArray(), q.toDoubleArray());
        assertThrows(IllegalArgumentException.class, () -> new SGD(List.of(param()), 0.1).loadState(a.stateJson(), Map.of()));
    }
}
