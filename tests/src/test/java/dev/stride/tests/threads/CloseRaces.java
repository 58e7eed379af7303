package dev.stride.tests.threads;

import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import dev.stride.eltwise.Eltwise;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.Plan;
import dev.stride.ops.se.SqueezeExcitation;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Run in a child JVM by {@link ConcurrencyTest}: closes tensors and a network while another thread keeps computing
 * on them, the way a careless server would. Before the fix this freed memory under oneDNN and crashed the JVM;
 * now every close is refused while a call runs (tensors) or waits for it (networks), and the computing thread
 * gets a clean {@link IllegalStateException} once the thing is closed. Prints one "ok" line per race.
 */
public final class CloseRaces {

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        try (Scope check = Scope.leakChecked("close races")) {
            eltwise();
            network();
            squeezeExcitation();
        }
        System.out.printf("races took %.0f ms%n", (System.nanoTime() - t0) / 1e6);
        System.out.println("no leaks");
    }

    /** A computation repeated on another thread until what it uses is closed. */
    interface Step {
        void run(Stream stream);
    }

    /** Starts {@code step} in a loop on thread "racer"; its end must be an ISE saying something is closed. */
    static Thread racer(Step step, CountDownLatch started, AtomicReference<Throwable> end) {
        Thread t = new Thread(() -> {
            try (Scope s = Scope.open("racer"); Stream stream = Stream.create(s)) {
                for (int i = 0; ; i++) {
                    step.run(stream);
                    if (i == 0) {
                        started.countDown();
                    }
                }
            } catch (Throwable e) {
                end.set(e);
                started.countDown();
            }
        }, "racer");
        t.start();
        return t;
    }

    /** Closes {@code t} while the racer computes on it: refused (naming the racer) until a gap between calls. */
    static int closeUnderRacer(Tensor t) {
        int refused = 0;
        while (!t.isClosed()) {
            try {
                t.close();
            } catch (IllegalStateException e) {
                if (!e.getMessage().contains("in use by thread 'racer'") || t.isClosed()) {
                    throw new AssertionError("unexpected refusal: " + e.getMessage(), e);
                }
                refused++;
                LockSupport.parkNanos(20_000); // leave the racer the core now and then, so a gap comes soon
            }
        }
        return refused;
    }

    static void expectClosedEnd(String race, Thread racer, AtomicReference<Throwable> end) throws InterruptedException {
        racer.join(30_000);
        Throwable e = end.get();
        if (racer.isAlive() || !(e instanceof IllegalStateException) || !e.getMessage().contains("is closed")) {
            throw new AssertionError(race + ": the racer should stop on 'is closed', got " + e, e);
        }
    }

    static void eltwise() throws InterruptedException {
        try (Scope scope = Scope.open("eltwise")) {
            long[] dims = {1 << 20};
            Eltwise.Forward exp = Eltwise.Forward.create(scope, "exp", MemoryDesc.plain(scope, dims),
                    Eltwise.Algorithm.EXP, 0, 0, PropKind.INFERENCE);
            Tensor src = Tensor.zeros(scope, "src", dims);
            Tensor dst = Tensor.zeros(scope, "dst", dims);
            ExecArgs args = exp.bind(scope, src, dst);
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Throwable> end = new AtomicReference<>();
            Thread racer = racer(stream -> {
                exp.execute(stream, args);
                stream.await();
            }, started, end);
            started.await();
            int refused = closeUnderRacer(src);
            expectClosedEnd("eltwise", racer, end);
            System.out.println("eltwise race: ok (" + refused + " close(s) refused while exp ran)");
        }
    }

    static void network() throws InterruptedException {
        try (Network net = Network.create(ConcurrencyTest.convnet(), 4)) {
            Plan plan = net.plan(16, Mode.INFERENCE);
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Throwable> end = new AtomicReference<>();
            Thread racer = racer(stream -> plan.forward(), started, end);
            started.await();
            Thread.sleep(5);
            net.close(); // waits for the running forward
            expectClosedEnd("network", racer, end);
            if (!net.isClosed() || !plan.isClosed()) {
                throw new AssertionError("network half-closed");
            }
            System.out.println("network race: ok");
        }
    }

    static void squeezeExcitation() throws InterruptedException {
        try (Scope scope = Scope.open("se")) {
            SqueezeExcitation se = SqueezeExcitation.create(scope, "se", 4, 32, 28, 28, 4);
            Tensor src = Tensor.zeros(scope, "src", 4, 32, 28, 28);
            Tensor dst = Tensor.zeros(scope, "dst", 4, 32, 28, 28);
            CountDownLatch started = new CountDownLatch(1);
            AtomicReference<Throwable> end = new AtomicReference<>();
            Thread racer = racer(stream -> se.forward(stream, src, dst), started, end);
            started.await();
            int refused = closeUnderRacer(src);
            expectClosedEnd("squeeze-excitation", racer, end);
            System.out.println("squeeze-excitation race: ok (" + refused + " close(s) refused while it ran)");
        }
    }
}
