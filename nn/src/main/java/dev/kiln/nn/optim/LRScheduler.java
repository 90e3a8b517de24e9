package dev.kiln.nn.optim;

import dev.kiln.nn.io.Json;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Drives an optimizer's learning rates from an {@link LrSchedule}. It remembers each group's base rate, sets
 * the rate for step 0 when built, and each {@link #step()} advances the count and sets the next rate. The state
 * (count and base rates) round-trips through {@link #stateJson()}.
 */
public final class LRScheduler implements Scheduler {
    private final Optimizer optimizer;
    private final LrSchedule schedule;
    private final List<Double> baseLrs = new ArrayList<>();
    private long step;

    /**
     * Applies {@code schedule} to every group, setting the rate for step 0 now.
     *
     * @param optimizer the optimizer whose groups' rates it sets; their current rates are the base rates
     * @param schedule the rate as a function of the base rate and the step
     */
    public LRScheduler(Optimizer optimizer, LrSchedule schedule) {
        this.optimizer = optimizer;
        this.schedule = schedule;
        for (ParamGroup g : optimizer.paramGroups()) baseLrs.add(g.lr());
        apply();
    }

    @Override
    public void step() {
        step++;
        apply();
    }

    private void apply() {
        List<ParamGroup> groups = optimizer.paramGroups();
        for (int i = 0; i < groups.size(); i++) groups.get(i).setLr(schedule.lr(baseLrs.get(i), step));
    }

    /**
     * {@return how many times {@link #step()} was called (restored from checkpoints)}
     */
    public long stepCount() { return step; }

    @Override
    public String stateJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("step", step);
        m.put("base_lrs", baseLrs);
        return Json.write(m);
    }

    @Override
    public Runnable prepareLoadState(String json) {
        Map<String, Object> m = Json.parseObject(json);
        if (!(m.get("base_lrs") instanceof List<?> bases))
            throw new IllegalArgumentException("LRScheduler.loadState: base_lrs must be a list, got " + m.get("base_lrs"));
        if (bases.size() != baseLrs.size())
            throw new IllegalArgumentException("LRScheduler.loadState: " + bases.size() + " base rates saved for " + baseLrs.size() + " groups");
        List<Double> newBases = new ArrayList<>();
        for (Object b : bases) {
            double lr = Json.asDouble(b);
            Hyperparameters.check("LRScheduler", "lr", lr);
            newBases.add(lr);
        }
        long newStep = Json.asLong(m.get("step"));
        if (newStep < 0) throw new IllegalArgumentException("LRScheduler.loadState: negative step " + newStep);
        return () -> {
            for (int i = 0; i < newBases.size(); i++) baseLrs.set(i, newBases.get(i));
            step = newStep;
            apply();
        };
    }
}
