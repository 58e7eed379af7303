package dev.stride.nn;

import dev.stride.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * Serves one {@link Network} from many threads: a fixed number of inference plans over the network (they share
 * its weights; each holds its own activations), lent to one caller at a time. {@link #predict} borrows a free
 * plan, waiting while all are busy, runs it and gives it back; {@link #withPlan} does the same around any work
 * on the plan.
 *
 * <pre>{@code
 * try (Network net = Network.create(spec, 42); PlanPool pool = PlanPool.create(net, 16, 4)) {
 *     // from any number of threads:
 *     float[] logits = pool.predict(images);   // k samples (1 <= k <= 16) in, k rows out
 * }
 * }</pre>
 *
 * <p>Size it by the cores: each plan runs oneDNN with the calling thread's OpenMP team, so more plans than cores
 * only add memory. The weights must not change while the pool serves (see {@link Network}).
 *
 * <p>Thread-safe. {@link #close()} refuses new calls, waits for the calls in flight to give their plans back,
 * then closes the plans (the network stays open: it belongs to the caller).
 */
public final class PlanPool implements AutoCloseable {

    private final int batch;
    private final int sampleFloats;
    private final int outputFloats;
    private final List<Plan> plans;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Deque<Plan> idle = new ArrayDeque<>();
    /** Threads holding a plan now (a thread may appear twice when it nests calls). */
    private final List<Thread> borrowers = new ArrayList<>();
    private boolean closed;

    private PlanPool(int batch, List<Plan> plans) {
        this.batch = batch;
        this.plans = List.copyOf(plans);
        Plan first = plans.getFirst();
        this.sampleFloats = Math.toIntExact(elements(first.input()) / batch);
        this.outputFloats = Math.toIntExact(elements(first.output()) / batch);
        idle.addAll(plans);
    }

    /** {@code plans} inference plans of {@code batch} samples over {@code network}, every optimisation on. */
    public static PlanPool create(Network network, int batch, int plans) {
        return create(network, batch, plans, PlanOptions.defaults());
    }

    /** {@code plans} inference plans of {@code batch} samples over {@code network}, planned with {@code options}. */
    public static PlanPool create(Network network, int batch, int plans, PlanOptions options) {
        if (network == null) {
            throw new IllegalArgumentException("no network given");
        }
        if (plans < 1) {
            throw new IllegalArgumentException("plans must be >= 1, got " + plans);
        }
        List<Plan> made = new ArrayList<>();
        try {
            for (int i = 0; i < plans; i++) {
                made.add(network.plan(batch, Mode.INFERENCE, options));
            }
        } catch (RuntimeException e) {
            made.forEach(Plan::close);
            throw e;
        }
        return new PlanPool(batch, made);
    }

    /** Samples per plan. */
    public int batch() {
        return batch;
    }

    /** Number of plans. */
    public int size() {
        return plans.size();
    }

    /** Floats of one input sample ({@code C x H x W}). */
    public int sampleSize() {
        return sampleFloats;
    }

    /** Floats of one sample's output. */
    public int outputSize() {
        return outputFloats;
    }

    /**
     * Runs the network on {@code samples}: {@code k} whole samples ({@code k x C x H x W} floats, plain row-major)
     * with {@code 1 <= k <=} {@link #batch()}; returns their {@code k} outputs, row-major. A short batch is padded
     * with zeros (an inference plan treats every sample on its own, so the padding changes no result).
     */
    public float[] predict(float[] samples) {
        int limit = batch * sampleFloats;
        if (samples == null || samples.length == 0 || samples.length % sampleFloats != 0 || samples.length > limit) {
            throw new IllegalArgumentException("samples: expected k x " + sampleFloats + " floats (k whole samples, "
                    + "1 <= k <= batch " + batch + ", at most " + limit + "), got "
                    + (samples == null ? "null" : samples.length));
        }
        int k = samples.length / sampleFloats;
        return withPlan(plan -> {
            MemorySegment in = plan.input().segment();
            MemorySegment.copy(samples, 0, in, ValueLayout.JAVA_FLOAT, 0, samples.length);
            in.asSlice((long) samples.length * Float.BYTES).fill((byte) 0);
            Tensor out = plan.forward();
            float[] result = new float[k * outputFloats];
            MemorySegment.copy(out.segment(), ValueLayout.JAVA_FLOAT, 0, result, 0, result.length);
            return result;
        });
    }

    /**
     * Lends a free plan to {@code work} (waiting while all are busy) and takes it back when {@code work} returns
     * or throws. The plan is the caller's for the duration only: do not keep it, and do not call back into this
     * pool from {@code work}.
     *
     * @throws IllegalStateException when the pool is closed, or the thread is interrupted while waiting
     */
    public <T> T withPlan(Function<Plan, T> work) {
        Plan plan = borrow();
        try {
            return work.apply(plan);
        } finally {
            giveBack(plan);
        }
    }

    private Plan borrow() {
        lock.lock();
        try {
            while (!closed && idle.isEmpty()) {
                try {
                    changed.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for a free plan of the pool", e);
                }
            }
            if (closed) {
                throw new IllegalStateException("plan pool is closed");
            }
            borrowers.add(Thread.currentThread());
            return idle.pop();
        } finally {
            lock.unlock();
        }
    }

    private void giveBack(Plan plan) {
        lock.lock();
        try {
            borrowers.remove(Thread.currentThread());
            idle.push(plan);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Refuses new calls, waits until the calls in flight have returned their plans, then closes the plans.
     *
     * @throws IllegalStateException when called from inside {@link #withPlan} (it would wait for itself)
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (borrowers.contains(Thread.currentThread())) {
                throw new IllegalStateException("plan pool closed from inside withPlan on thread '"
                        + Thread.currentThread().getName() + "': it would wait for itself; close it after the call");
            }
            closed = true;
            changed.signalAll();
            while (!borrowers.isEmpty()) {
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
        plans.forEach(Plan::close);
    }

    private static long elements(Tensor t) {
        long n = 1;
        for (long d : t.dims()) {
            n *= d;
        }
        return n;
    }
}
