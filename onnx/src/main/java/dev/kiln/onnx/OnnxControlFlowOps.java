package dev.kiln.onnx;

import dev.kiln.DType;
import dev.kiln.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * If and Loop: their branches and bodies are nested graphs, run by the graph runner with the enclosing graph's
 * values in scope. The condition and trip count are read back to the host, as control flow must.
 */
final class OnnxControlFlowOps {
    private OnnxControlFlowOps() {}

    static void register(Map<String, OnnxOps.Mapping> ops) {
        ops.put("If", c -> {
            boolean cond = c.input(0).item() != 0;
            Tensor[] taken = c.runGraph(cond ? "then_branch" : "else_branch", List.of());
            // The branch not taken is marked read: it is a legitimate attribute that this run does not need.
            c.hasAttr(cond ? "else_branch" : "then_branch");
            return taken;
        });
        ops.put("Loop", OnnxControlFlowOps::loop);
    }

    private static Tensor[] loop(OnnxCall c) {
        Tensor trips = c.optionalInput(0), condition = c.optionalInput(1);
        long maxTrips = trips == null ? Long.MAX_VALUE : OnnxCall.longs(trips)[0];
        boolean go = condition == null || condition.item() != 0;
        int carried = c.inputCount() - 2;
        List<Tensor> state = new ArrayList<>();
        for (int i = 2; i < c.inputCount(); i++) state.add(c.input(i));
        List<List<Tensor>> scans = new ArrayList<>();
        for (long i = 0; i < maxTrips && go; i++) {
            List<Tensor> bodyInputs = new ArrayList<>();
            bodyInputs.add(Tensor.scalar(i, DType.INT64, c.device()));
            bodyInputs.add(Tensor.scalar(1, DType.BOOL, c.device()));
            bodyInputs.addAll(state);
            Tensor[] out = c.runGraph("body", bodyInputs);
            go = out[0].item() != 0;
            state = new ArrayList<>(Arrays.asList(out).subList(1, 1 + carried));
            for (int s = 1 + carried; s < out.length; s++) {
                if (scans.size() < s - carried) scans.add(new ArrayList<>());
                scans.get(s - 1 - carried).add(out[s]);
            }
        }
        int scanOutputs = c.outputCount() - carried;
        if (scanOutputs > 0 && scans.isEmpty())
            throw new IllegalArgumentException(c.node().describe() + ": a loop that runs no iteration has scan outputs of unknown shape");
        Tensor[] result = new Tensor[carried + scanOutputs];
        for (int i = 0; i < carried; i++) result[i] = state.get(i);
        for (int s = 0; s < scanOutputs; s++) result[carried + s] = Tensor.stack(scans.get(s), 0);
        return result;
    }
}
