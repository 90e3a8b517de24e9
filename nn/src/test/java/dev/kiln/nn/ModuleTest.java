package dev.kiln.nn;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Kiln;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModuleTest {

    /** A module with its own parameter, a buffer and a child, to exercise naming. */
    static final class Block extends Module {
        Block() {
            registerParameter("scale", Tensor.ones(2));
            registerBuffer("count", Tensor.zeros(DType.INT64, null, 1));
            registerModule("proj", new Linear(2, 2));
        }

        @Override
        public Tensor forward(Tensor x) { return ((Linear) children().get("proj")).forward(x.mul(param("scale"))); }
    }

    @Test
    void namesNestWithDotsInRegistrationOrder() {
        Sequential net = new Sequential(new Block(), new BatchNorm1d(2), new Linear(2, 1, false));
        assertEquals(List.of("0.scale", "0.proj.weight", "0.proj.bias", "1.weight", "1.bias", "2.weight"), List.copyOf(net.namedParameters().keySet()));
        assertEquals(List.of("0.count", "1.running_mean", "1.running_var", "1.num_batches_tracked"), List.copyOf(net.namedBuffers().keySet()));
        assertEquals(List.of("0.scale", "0.count", "0.proj.weight", "0.proj.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                "1.num_batches_tracked", "2.weight"), List.copyOf(net.stateDict().keySet()));
        assertEquals(2 + 4 + 2 + 2 + 2 + 2, net.parameterCount());
        assertEquals(List.of("", "0", "0.proj", "1", "2"), List.copyOf(net.namedModules().keySet()));
        for (Tensor p : net.parameters()) assertTrue(p.requiresGrad());
    }

    @Test
    void trainAndEvalReachEveryDescendant() {
        Sequential net = new Sequential(new Block(), new Dropout(0.1));
        net.eval();
        net.apply(m -> assertFalse(m.isTraining()));
        net.train();
        net.apply(m -> assertTrue(m.isTraining()));
    }

    @Test
    void parametersOutliveScopesTheyWereCreatedIn() {
        Linear lin;
        try (Scope s = Scope.open()) {
            lin = new Linear(3, 2);
        }
        assertFalse(lin.weight().isClosed());
        assertEquals(6, lin.weight().toFloatArray().length);
    }

    @Test
    void stateDictRoundTripsAndLoadIsStrict() {
        Kiln.manualSeed(1);
        Sequential a = new Sequential(new Linear(3, 2), new BatchNorm1d(2));
        Kiln.manualSeed(2);
        Sequential b = new Sequential(new Linear(3, 2), new BatchNorm1d(2));
        b.loadStateDict(a.stateDict());
        for (String k : a.stateDict().keySet())
            assertArrayEquals(a.stateDict().get(k).toDoubleArray(), b.stateDict().get(k).toDoubleArray(), k);
        assertNotSame(a.stateDict().get("0.weight"), b.stateDict().get("0.weight"));

        Map<String, Tensor> partial = Map.of("0.weight", Tensor.zeros(2, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.loadStateDict(partial));
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
        b.loadStateDict(partial, false);
        assertArrayEquals(new float[6], b.stateDict().get("0.weight").toFloatArray());
        IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> b.loadStateDict(Map.of("0.weight", Tensor.zeros(3, 2)), false));
        assertTrue(shape.getMessage().contains("0.weight"), shape.getMessage());
    }

    @Test
    void toConvertsDtypeAndDeviceKeepingParametersTrainable() {
        Linear lin = new Linear(2, 2);
        float[] before = lin.weight().toFloatArray();
        dev.kiln.testkit.TestDevice.requireFloat64();
        lin.to(DType.FLOAT64);
        assertEquals(DType.FLOAT64, lin.weight().dtype());
        assertTrue(lin.weight().requiresGrad() && lin.weight().isLeaf());
        double[] after = lin.weight().toDoubleArray();
        for (int i = 0; i < before.length; i++) assertEquals(before[i], after[i]);
        Tensor w = lin.weight();
        lin.to(Device.CPU);
        assertSame(w, lin.weight(), "moving to the device it is on changes nothing");
        assertThrows(IllegalArgumentException.class, () -> lin.to(DType.INT32));
    }

    @Test
    void zeroGradClearsGradients() {
        Linear lin = new Linear(2, 1);
        try (Scope s = Scope.open()) {
            lin.forward(Tensor.ones(1, 2)).sum().backward();
        }
        assertFalse(lin.weight().grad() == null);
        lin.zeroGrad();
        assertNull(lin.weight().grad());
    }

    @Test
    void containersRegisterTheirChildren() {
        ModuleList list = new ModuleList(new Linear(2, 2), new Linear(2, 3));
        assertEquals(2, list.size());
        assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias"), List.copyOf(list.namedParameters().keySet()));
        ModuleDict dict = new ModuleDict().put("enc", new Linear(2, 2)).put("dec", new Linear(2, 2));
        assertEquals(List.of("enc.weight", "enc.bias", "dec.weight", "dec.bias"), List.copyOf(dict.namedParameters().keySet()));
        assertThrows(IllegalArgumentException.class, () -> dict.get("missing"));
        assertThrows(IllegalArgumentException.class, () -> dict.put("enc", new Linear(1, 1)));
        assertThrows(IllegalArgumentException.class, () -> dict.put("a.b", new Linear(1, 1)));
        assertThrows(UnsupportedOperationException.class, () -> dict.forward(Tensor.ones(1)));
        assertTrue(new Sequential(new Linear(2, 3), Activation.relu()).toString().contains("Linear(2, 3)"));
    }

    @Test
    void summaryGivesEachLayersOutputShapeAndParameters() {
        Sequential net = new Sequential(new Linear(4, 2), Activation.relu(), new Sequential(new Block(), new Linear(2, 3)));
        ModuleSummary summary = net.summary(5, 4);
        List<String> names = summary.rows().stream().map(ModuleSummary.Row::name).toList();
        assertEquals(List.of("", "0", "1", "2", "2.0", "2.0.proj", "2.1"), names);
        List<String> shapes = summary.rows().stream().map(r -> r.outputShape() == null ? "--" : java.util.Arrays.toString(r.outputShape())).toList();
        assertEquals(List.of("[5, 3]", "[5, 2]", "[5, 2]", "[5, 3]", "[5, 2]", "--", "[5, 3]"), shapes);
        // Linear(4, 2): 10; Block: scale 2 + proj 6; Linear(2, 3): 9
        assertEquals(List.of(27L, 10L, 0L, 17L, 8L, 6L, 9L), summary.rows().stream().map(ModuleSummary.Row::parameters).toList());
        assertEquals(27, summary.totalParameters());
        assertTrue(net.isTraining(), "the summary's eval-mode pass leaves the training flag as it was");
        net.get(2).eval();
        net.summary(1, 4);
        assertTrue(net.isTraining() && !net.get(2).isTraining() && !((Sequential) net.get(2)).get(0).isTraining(),
                "each module's own mode is restored, a frozen part included");
        String table = summary.toString();
        assertTrue(table.contains("  0: Linear(4, 2)") && table.contains("[5, 2]") && table.endsWith("Total params: 27" + System.lineSeparator()), table);
    }
}
