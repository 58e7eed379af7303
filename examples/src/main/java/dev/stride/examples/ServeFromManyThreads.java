package dev.stride.examples;

import dev.stride.nn.Network;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.PlanPool;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** README, threads and serving: one network, a pool of inference plans, requests from many threads. */
public final class ServeFromManyThreads {

    private ServeFromManyThreads() {}

    /** The logits of each request (k samples each, k <= 16), computed on {@code threads} threads at once. */
    static List<float[]> serve(NetworkSpec spec, List<float[]> requests, int threads) throws Exception {
        List<float[]> answers = new ArrayList<>();
        // @start region=serve
        try (Network net = Network.create(spec, 42); PlanPool pool = PlanPool.create(net, 16, 4);
                ExecutorService workers = Executors.newFixedThreadPool(threads)) {
            List<Future<float[]>> pending = new ArrayList<>();
            for (float[] images : requests) {
                pending.add(workers.submit(() -> pool.predict(images)));   // k samples in, k rows of logits out
            }
            for (Future<float[]> f : pending) {
                answers.add(f.get());
            }
        }
        // @end
        return answers;
    }
}
