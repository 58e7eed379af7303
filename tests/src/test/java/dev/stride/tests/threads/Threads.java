package dev.stride.tests.threads;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Dnnl;
import dev.stride.core.Tensor;
import dev.stride.nn.Layer;
import dev.stride.nn.LayerOp;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Shape;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/** What the concurrency tests share: running tasks on several threads at once, and a layer that can hold a forward. */
final class Threads {
    private Threads() {}

    /** One worker's body: {@code index} is 0 .. threads-1. */
    interface Body {
        void run(int index) throws Exception;
    }

    /**
     * Runs {@code body} on {@code threads} new threads released together (one OpenMP thread each, so every thread
     * computes exactly as the single-threaded reference does), and rethrows the first failure after all have ended.
     */
    static void together(int threads, Body body) throws InterruptedException {
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int index = t;
            Thread th = new Thread(() -> {
                try {
                    Dnnl.setThreads(1);
                    start.await(10, TimeUnit.SECONDS);
                    body.run(index);
                } catch (BrokenBarrierException | RuntimeException | Error e) {
                    failures.add(e);
                } catch (Exception e) {
                    failures.add(e);
                }
            }, "worker-" + t);
            all.add(th);
            th.start();
        }
        for (Thread th : all) {
            th.join(30_000);
            assertTrue(!th.isAlive(), th.getName() + " did not finish");
        }
        if (!failures.isEmpty()) {
            AssertionError e = new AssertionError(failures.size() + " worker(s) failed: " + failures.getFirst(),
                    failures.getFirst());
            failures.stream().skip(1).forEach(e::addSuppressed);
            throw e;
        }
    }

    /** Runs {@code work} with one OpenMP thread on the calling thread, as the workers of {@link #together} run. */
    static <T> T singleThreaded(java.util.function.Supplier<T> work) {
        int saved = Dnnl.threads();
        Dnnl.setThreads(1);
        try {
            return work.get();
        } finally {
            Dnnl.setThreads(saved);
        }
    }

    /** A started thread running {@code r}; its failure, if any, lands in {@code failure[0]}. */
    static Thread start(String name, Throwable[] failure, Runnable r) {
        Thread t = new Thread(() -> {
            try {
                r.run();
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, name);
        t.start();
        return t;
    }

    /**
     * A thread that holds {@code r} in use, as a running execution or custom op does, until {@link #close()}: the
     * state in which another thread's close must be refused.
     */
    static final class InUse implements AutoCloseable {
        final Thread thread;
        private final java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        private final Throwable[] failure = new Throwable[1];

        InUse(dev.stride.core.NativeResource r, String user) throws InterruptedException {
            java.util.concurrent.CountDownLatch marked = new java.util.concurrent.CountDownLatch(1);
            thread = start("user", failure, () -> {
                r.beginUse(user);
                marked.countDown();
                try {
                    done.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                } finally {
                    r.endUse();
                }
            });
            marked.await();
        }

        /** Ends the use and waits for the thread; fails the test if it failed. */
        @Override
        public void close() throws InterruptedException {
            done.countDown();
            thread.join(10_000);
            assertTrue(failure[0] == null, "the user thread failed: " + failure[0]);
        }
    }

    /** {@code 'name' (id 42)}, as the library names threads in its errors. */
    static String label(Thread t) {
        return "'" + t.getName() + "' (id " + t.threadId() + ")";
    }

    /**
     * An identity layer that, while {@linkplain #arm armed}, stops the forward that reaches it until the test lets
     * it go: a deterministic way to have a thread inside {@code plan.forward()}. After being let go it copies its
     * input (the tensor the layers before wrote) into {@link #seen}, so a test can check that the memory was
     * still whole after another thread tried to close or use the plan.
     */
    static final class Gate implements Layer {
        final Semaphore arrived = new Semaphore(0);
        final Semaphore proceed = new Semaphore(0);
        volatile boolean armed;
        volatile float[] seen;

        void arm() {
            armed = true;
        }

        /** Waits until a forward is stopped at the gate. */
        void awaitArrival() throws InterruptedException {
            assertTrue(arrived.tryAcquire(10, TimeUnit.SECONDS), "no forward reached the gate");
        }

        /** Lets the stopped forward go on, and stops no more. */
        void release() {
            armed = false;
            proceed.release();
        }

        @Override
        public String kind() {
            return "gate";
        }

        @Override
        public String settings() {
            return "";
        }

        @Override
        public Shape outputShape(String name, List<Shape> inputs) {
            return inputs.getFirst();
        }

        @Override
        public LayerOp plan(PlanContext ctx) {
            Tensor in = ctx.input();
            return new LayerOp() {
                @Override
                public Tensor output() {
                    return in;
                }

                @Override
                public void forward() {
                    if (armed) {
                        arrived.release();
                        proceed.acquireUninterruptibly();
                        seen = in.segment().toArray(ValueLayout.JAVA_FLOAT);
                    }
                }

                @Override
                public void planBackward(Tensor diffOutput, List<Tensor> diffInputs) {
                    throw new UnsupportedOperationException("the gate is for inference plans");
                }

                @Override
                public void backward() {
                    throw new UnsupportedOperationException("the gate is for inference plans");
                }

                @Override
                public String describe() {
                    return "gate";
                }
            };
        }
    }
}
