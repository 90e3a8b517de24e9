package dev.kiln.nn.optim;

/**
 * A learning rate as a pure function of the base rate and the step count (steps or epochs, as the caller
 * counts them). Pure functions compose: {@link #then} runs one schedule after another, {@link #chain}
 * applies a second schedule to the first one's output (PyTorch's ChainedScheduler), and a resumed run needs
 * only the step count. {@link LRScheduler} applies a schedule to an optimizer.
 */
@FunctionalInterface
public interface LrSchedule {

    /**
     * {@return the learning rate at {@code step} for a group whose base rate is {@code baseLr}}
     *
     * @param baseLr the group's base learning rate
     * @param step the step (or epoch) count, from 0
     */
    double lr(double baseLr, long step);

    /**
     * The base rate throughout.
     *
     * @return the schedule
     */
    static LrSchedule constant() { return (base, t) -> base; }

    /**
     * Multiplied by {@code gamma} every {@code stepSize} steps.
     *
     * @param stepSize steps between decays
     * @param gamma the factor applied at each
     * @return the schedule
     */
    static LrSchedule step(long stepSize, double gamma) {
        if (stepSize <= 0) throw new IllegalArgumentException("step schedule: stepSize must be positive, got " + stepSize);
        return (base, t) -> base * Math.pow(gamma, Math.floorDiv(t, stepSize));
    }

    /**
     * Multiplied by {@code gamma} at each milestone passed.
     *
     * @param milestones the steps at which to decay, in any order
     * @param gamma the factor applied at each
     * @return the schedule
     */
    static LrSchedule multiStep(long[] milestones, double gamma) {
        long[] m = milestones.clone();
        java.util.Arrays.sort(m);
        return (base, t) -> {
            int passed = 0;
            for (long x : m) if (t >= x) passed++;
            return base * Math.pow(gamma, passed);
        };
    }

    /**
     * {@code base * gamma^t}.
     *
     * @param gamma the factor applied every step
     * @return the schedule
     */
    static LrSchedule exponential(double gamma) { return (base, t) -> base * Math.pow(gamma, t); }

    /**
     * Cosine annealing from the base rate to {@code etaMin} over {@code tMax} steps (PyTorch's closed form),
     * staying at etaMin afterwards.
     *
     * @param tMax the steps to anneal over
     * @param etaMin the final rate
     * @return the schedule
     */
    static LrSchedule cosine(long tMax, double etaMin) {
        if (tMax <= 0) throw new IllegalArgumentException("cosine schedule: tMax must be positive, got " + tMax);
        return (base, t) -> etaMin + (base - etaMin) * (1 + Math.cos(Math.PI * Math.min(t, tMax) / tMax)) / 2;
    }

    /**
     * Linear from {@code startFactor * base} to {@code endFactor * base} over {@code steps} steps, then flat.
     *
     * @param startFactor the factor on the base rate at step 0
     * @param endFactor the factor from step {@code steps} on
     * @param steps the steps to interpolate over
     * @return the schedule
     */
    static LrSchedule linear(double startFactor, double endFactor, long steps) {
        if (steps <= 0) throw new IllegalArgumentException("linear schedule: steps must be positive, got " + steps);
        return (base, t) -> base * (startFactor + (endFactor - startFactor) * Math.min(t, steps) / steps);
    }

    /**
     * Linear warm-up from 0 over {@code warmupSteps} (the rate at step t is base*(t+1)/warmup, so the first step
     * already moves), then cosine down to {@code etaMin} by {@code totalSteps}.
     *
     * @param warmupSteps the steps of linear warm-up
     * @param totalSteps the step by which the rate reaches etaMin
     * @param etaMin the final rate
     * @return the schedule
     * @throws IllegalArgumentException unless {@code 0 <= warmupSteps < totalSteps}
     */
    static LrSchedule warmupCosine(long warmupSteps, long totalSteps, double etaMin) {
        if (warmupSteps < 0 || totalSteps <= warmupSteps)
            throw new IllegalArgumentException("warmupCosine: need 0 <= warmupSteps < totalSteps, got " + warmupSteps + ", " + totalSteps);
        LrSchedule warm = (base, t) -> base * (t + 1) / warmupSteps;
        return warmupSteps == 0 ? cosine(totalSteps, etaMin) : warm.then(warmupSteps, cosine(totalSteps - warmupSteps, etaMin));
    }

    /**
     * The one-cycle policy (Smith), with cosine annealing as PyTorch's default: from {@code base/divFactor} up
     * to the base rate (the maximum) over the first {@code pctStart} of {@code totalSteps}, then down to
     * {@code base/(divFactor*finalDivFactor)} at the last step.
     *
     * @param totalSteps the steps of the whole cycle, at least 2
     * @param pctStart the fraction of steps spent rising, in (0, 1)
     * @param divFactor the base rate over the starting rate
     * @param finalDivFactor the starting rate over the final rate
     * @return the schedule
     * @throws IllegalArgumentException if the phases do not fit in the steps
     */
    static LrSchedule oneCycle(long totalSteps, double pctStart, double divFactor, double finalDivFactor) {
        if (totalSteps < 2 || pctStart <= 0 || pctStart >= 1)
            throw new IllegalArgumentException("oneCycle: need totalSteps >= 2 and 0 < pctStart < 1, got " + totalSteps + ", " + pctStart);
        double upEnd = pctStart * totalSteps - 1;
        double downEnd = totalSteps - 1;
        if (upEnd <= 0 || upEnd >= downEnd)
            throw new IllegalArgumentException("oneCycle: the warm-up phase (" + pctStart + " of " + totalSteps + " steps) must span at least one step and end before the last");
        return (base, t) -> {
            double initial = base / divFactor, fin = initial / finalDivFactor;
            if (t <= upEnd) return annealCos(initial, base, t / upEnd);
            return annealCos(base, fin, Math.min(1, (t - upEnd) / (downEnd - upEnd)));
        };
    }

    private static double annealCos(double from, double to, double fraction) {
        return to + (from - to) * (1 + Math.cos(Math.PI * fraction)) / 2;
    }

    /**
     * This schedule for steps below {@code boundary}, then {@code next} counting from 0 at the boundary.
     *
     * @param boundary the first step of {@code next}
     * @param next the schedule that follows
     * @return the combined schedule
     */
    default LrSchedule then(long boundary, LrSchedule next) {
        return (base, t) -> t < boundary ? lr(base, t) : next.lr(base, t - boundary);
    }

    /**
     * {@code next} applied with this schedule's rate as its base: factors multiply.
     *
     * @param next the schedule applied on top of this one
     * @return the combined schedule
     */
    default LrSchedule chain(LrSchedule next) { return (base, t) -> next.lr(lr(base, t), t); }
}
