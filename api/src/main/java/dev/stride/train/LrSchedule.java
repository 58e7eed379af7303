package dev.stride.train;

import java.util.Arrays;

/**
 * A learning rate for every optimizer step: {@code lr(t)} for the step with 0-based index {@code t} (the number
 * of steps already taken), so the trainer calls {@code optimizer.setLearningRate(schedule.lr(t))} before step
 * {@code t}.
 *
 * <p>The schedules are PyTorch's {@code torch.optim.lr_scheduler} classes in their closed forms, with PyTorch's
 * {@code last_epoch} as {@code t}: {@link #stepDecay} is {@code StepLR}, {@link #multiStepDecay} {@code
 * MultiStepLR}, {@link #cosine} {@code CosineAnnealingLR}, {@link #linear} {@code LinearLR},
 * {@link #sequential} {@code SequentialLR} and {@link #warmup} the usual {@code SequentialLR([LinearLR,
 * ...])}. A schedule counts whatever its caller counts: used directly it changes every step (PyTorch's
 * {@code scheduler.step()} after every batch); {@link #perEpoch} makes it count epochs (after every epoch),
 * which is how {@code StepLR} is usually stepped.
 *
 * <pre>{@code
 * // 5 epochs of linear warm-up from 1% of the rate, then cosine annealing to 0 over the other 25 epochs
 * long spe = 469;                                          // steps per epoch
 * LrSchedule s = LrSchedule.warmup(5 * spe, 0.01, LrSchedule.cosine(0.1, 25 * spe, 0));
 * // StepLR(step_size=10, gamma=0.1) stepped once per epoch
 * LrSchedule e = LrSchedule.stepDecay(0.1, 10, 0.1).perEpoch(spe);
 * }</pre>
 *
 * <p>Implementations are immutable and thread-safe.
 */
@FunctionalInterface
public interface LrSchedule {

    /** The learning rate for the step with 0-based index {@code t}. */
    double lr(long t);

    /** The learning rate for step {@code stepInEpoch} (0-based) of epoch {@code epoch} (0-based). */
    default double lr(long epoch, long stepInEpoch, long stepsPerEpoch) {
        return lr(Math.addExact(Math.multiplyExact(epoch, stepsPerEpoch), stepInEpoch));
    }

    /**
     * This schedule counted in epochs: step {@code t} gets {@code lr(t / stepsPerEpoch)}, so the rate changes only
     * at epoch boundaries, like a PyTorch scheduler stepped once per epoch.
     */
    default LrSchedule perEpoch(long stepsPerEpoch) {
        return new PerEpoch(this, stepsPerEpoch);
    }

    /** The same rate at every step. */
    static LrSchedule constant(double lr) {
        return new Constant(lr);
    }

    /**
     * {@code StepLR}: {@code base * gamma^floor(t / stepSize)}.
     *
     * @param stepSize steps (or epochs, with {@link #perEpoch}) between decays, {@code > 0}
     */
    static LrSchedule stepDecay(double base, long stepSize, double gamma) {
        return new StepDecay(base, stepSize, gamma);
    }

    /** {@code MultiStepLR}: {@code base * gamma^(number of milestones <= t)}; milestones increasing. */
    static LrSchedule multiStepDecay(double base, double gamma, long... milestones) {
        return new MultiStepDecay(base, gamma, milestones);
    }

    /**
     * {@code CosineAnnealingLR} in its closed form:
     * {@code min + (base - min) * (1 + cos(pi * t / tMax)) / 2}; it reaches {@code min} at {@code t = tMax} and,
     * as in PyTorch, rises again after it (use {@code tMax} = the total number of steps).
     */
    static LrSchedule cosine(double base, long tMax, double min) {
        return new Cosine(base, tMax, min);
    }

    /**
     * {@code LinearLR}: the factor goes linearly from {@code startFactor} to {@code endFactor} over
     * {@code totalIters} steps and stays there:
     * {@code base * (start + (end - start) * min(t, totalIters) / totalIters)}.
     */
    static LrSchedule linear(double base, double startFactor, double endFactor, long totalIters) {
        return new Linear(base, startFactor, endFactor, totalIters);
    }

    /**
     * {@code SequentialLR}: {@code first} for {@code t < milestone}, then {@code then} restarted from its own
     * step 0: {@code then.lr(t - milestone)}.
     */
    static LrSchedule sequential(LrSchedule first, long milestone, LrSchedule then) {
        return new Sequential(first, milestone, then);
    }

    /**
     * Linear warm-up, then {@code then}: {@code SequentialLR([LinearLR(start_factor, 1.0, warmupSteps), then],
     * milestones=[warmupSteps])} with the base rate {@code then.lr(0)}. The rate rises from
     * {@code startFactor * then.lr(0)} to {@code then.lr(0)} over {@code warmupSteps} steps; {@code then} starts
     * at step {@code warmupSteps} from its step 0.
     */
    static LrSchedule warmup(long warmupSteps, double startFactor, LrSchedule then) {
        if (then == null) {
            throw new IllegalArgumentException("warmup: the schedule after the warm-up must not be null");
        }
        return new Sequential(new Linear(then.lr(0), startFactor, 1.0, warmupSteps), warmupSteps, then);
    }

    private static void checkRate(String what, double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) {
            throw new IllegalArgumentException(what + ": learning rate must be a finite number >= 0, got " + lr);
        }
    }

    private static void checkStep(long t) {
        if (t < 0) {
            throw new IllegalArgumentException("learning rate schedule: step must be >= 0, got " + t);
        }
    }

    /** See {@link LrSchedule#constant}. */
    record Constant(double lr) implements LrSchedule {
        public Constant {
            checkRate("constant", lr);
        }

        @Override
        public double lr(long t) {
            checkStep(t);
            return lr;
        }
    }

    /** See {@link LrSchedule#stepDecay}. */
    record StepDecay(double base, long stepSize, double gamma) implements LrSchedule {
        public StepDecay {
            checkRate("step decay", base);
            if (stepSize <= 0) {
                throw new IllegalArgumentException("step decay: step size must be > 0, got " + stepSize);
            }
            if (!(gamma >= 0) || Double.isInfinite(gamma)) {
                throw new IllegalArgumentException("step decay: gamma must be a finite number >= 0, got " + gamma);
            }
        }

        @Override
        public double lr(long t) {
            checkStep(t);
            return base * Math.pow(gamma, t / stepSize);
        }
    }

    /** See {@link LrSchedule#multiStepDecay}. */
    record MultiStepDecay(double base, double gamma, long[] milestones) implements LrSchedule {
        public MultiStepDecay {
            checkRate("multi-step decay", base);
            if (!(gamma >= 0) || Double.isInfinite(gamma)) {
                throw new IllegalArgumentException("multi-step decay: gamma must be a finite number >= 0, got " + gamma);
            }
            milestones = milestones.clone();
            for (int i = 0; i < milestones.length; i++) {
                if (milestones[i] <= 0 || (i > 0 && milestones[i] <= milestones[i - 1])) {
                    throw new IllegalArgumentException("multi-step decay: milestones must be positive and increasing, got "
                            + Arrays.toString(milestones));
                }
            }
        }

        @Override
        public long[] milestones() {
            return milestones.clone();
        }

        @Override
        public double lr(long t) {
            checkStep(t);
            int passed = 0;
            while (passed < milestones.length && milestones[passed] <= t) {
                passed++;
            }
            return base * Math.pow(gamma, passed);
        }

        @Override
        public String toString() {
            return "MultiStepDecay[base=" + base + ", gamma=" + gamma + ", milestones=" + Arrays.toString(milestones) + "]";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof MultiStepDecay m && Double.compare(base, m.base) == 0 && Double.compare(gamma, m.gamma) == 0
                    && Arrays.equals(milestones, m.milestones);
        }

        @Override
        public int hashCode() {
            return 31 * Double.hashCode(base) + 17 * Double.hashCode(gamma) + Arrays.hashCode(milestones);
        }
    }

    /** See {@link LrSchedule#cosine}. */
    record Cosine(double base, long tMax, double min) implements LrSchedule {
        public Cosine {
            checkRate("cosine", base);
            checkRate("cosine (minimum)", min);
            if (tMax <= 0) {
                throw new IllegalArgumentException("cosine: tMax must be > 0, got " + tMax);
            }
        }

        @Override
        public double lr(long t) {
            checkStep(t);
            return min + (base - min) * (1 + Math.cos(Math.PI * t / tMax)) / 2;
        }
    }

    /** See {@link LrSchedule#linear}. */
    record Linear(double base, double startFactor, double endFactor, long totalIters) implements LrSchedule {
        public Linear {
            checkRate("linear", base);
            if (!(startFactor >= 0 && startFactor <= 1) || !(endFactor >= 0 && endFactor <= 1)) {
                throw new IllegalArgumentException("linear: start and end factors must be in [0, 1] (as in LinearLR), got "
                        + startFactor + " and " + endFactor);
            }
            if (totalIters <= 0) {
                throw new IllegalArgumentException("linear: total iterations must be > 0, got " + totalIters);
            }
        }

        @Override
        public double lr(long t) {
            checkStep(t);
            return base * (startFactor + (endFactor - startFactor) * Math.min(totalIters, t) / totalIters);
        }
    }

    /** See {@link LrSchedule#sequential}. */
    record Sequential(LrSchedule first, long milestone, LrSchedule then) implements LrSchedule {
        public Sequential {
            if (first == null || then == null) {
                throw new IllegalArgumentException("sequential: both schedules must be given, got " + first + " and " + then);
            }
            if (milestone <= 0) {
                throw new IllegalArgumentException("sequential: milestone must be > 0, got " + milestone);
            }
        }

        @Override
        public double lr(long t) {
            checkStep(t);
            return t < milestone ? first.lr(t) : then.lr(t - milestone);
        }
    }

    /** See {@link LrSchedule#perEpoch}. */
    record PerEpoch(LrSchedule epochs, long stepsPerEpoch) implements LrSchedule {
        public PerEpoch {
            if (stepsPerEpoch <= 0) {
                throw new IllegalArgumentException("per epoch: steps per epoch must be > 0, got " + stepsPerEpoch);
            }
        }

        @Override
        public double lr(long t) {
            checkStep(t);
            return epochs.lr(t / stepsPerEpoch);
        }
    }
}
