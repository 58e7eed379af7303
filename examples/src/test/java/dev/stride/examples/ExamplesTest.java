package dev.stride.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.data.FashionMnist;
import dev.stride.nn.Mode;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkSpec;
import dev.stride.nn.Plan;
import dev.stride.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs every README example, on small settings where the real one takes minutes, and checks what it computed. */
class ExamplesTest {

    @Test
    void convolutionMatchesNaiveLoops() {
        Random random = new Random(7);
        float[] images = new float[8 * 3 * 32 * 32];
        float[] filters = new float[16 * 3 * 3 * 3];
        for (int i = 0; i < images.length; i++) images[i] = random.nextFloat() * 2 - 1;
        for (int i = 0; i < filters.length; i++) filters[i] = random.nextFloat() * 2 - 1;

        float[] out = ConvolutionIn15Lines.convolve(images, filters);

        // dst[n][k][y][x] = sum over c, i, j of src[n][c][y + i - 1][x + j - 1] * w[k][c][i][j], zero outside
        assertEquals(8 * 16 * 32 * 32, out.length);
        for (int n = 0; n < 8; n++) {
            for (int k = 0; k < 16; k++) {
                for (int y = 0; y < 32; y++) {
                    for (int x = 0; x < 32; x++) {
                        double sum = 0;
                        for (int c = 0; c < 3; c++) {
                            for (int i = 0; i < 3; i++) {
                                for (int j = 0; j < 3; j++) {
                                    int sy = y + i - 1, sx = x + j - 1;
                                    if (sy >= 0 && sy < 32 && sx >= 0 && sx < 32) {
                                        sum += (double) images[((n * 3 + c) * 32 + sy) * 32 + sx]
                                                * filters[((k * 3 + c) * 3 + i) * 3 + j];
                                    }
                                }
                            }
                        }
                        float got = out[((n * 16 + k) * 32 + y) * 32 + x];
                        assertEquals(sum, got, 1e-4 * (1 + Math.abs(sum)), "dst[" + n + "][" + k + "][" + y + "][" + x + "]");
                    }
                }
            }
        }
    }

    @Test
    void builderCountsTheReferenceConvnetsParameters() {
        NetworkSpec net = NetworkSummary.build();
        // "same" 5x5 convolutions keep 28x28, each 2x2 pool halves it: 28 -> 14 -> 7.
        long conv1 = 32 * (1 * 5 * 5) + 32;
        long conv2 = 64 * (32 * 5 * 5) + 64;
        long fc1 = 1024L * (64 * 7 * 7) + 1024;
        long fc2 = 10 * 1024 + 10;
        assertEquals(conv1 + conv2 + fc1 + fc2, net.parameterCount());
        assertArrayEquals(new long[] {10}, net.output().shape().dims());
    }

    @Test
    void customLayersNetworkRunsForward() {
        NetworkSpec spec = CustomLayersNetwork.build();
        assertArrayEquals(new long[] {10}, spec.output().shape().dims());
        try (Network net = Network.create(spec, 3)) {
            Plan plan = net.plan(2, Mode.INFERENCE);
            float[] input = new float[2 * 28 * 28];
            Random random = new Random(5);
            for (int i = 0; i < input.length; i++) input[i] = random.nextFloat();
            plan.input().copyFrom(input);
            float[] logits = plan.forward().toFloatArray();
            assertEquals(2 * 10, logits.length);
            for (float v : logits) {
                assertTrue(Float.isFinite(v), "logits " + java.util.Arrays.toString(logits));
            }
        }
    }

    @Test
    void oneEpochOfBatchesDeliversEveryFullBatch() throws Exception {
        // Training options drop the last partial batch: 60,000 images make 234 full batches of 256.
        assertEquals(FashionMnist.load().train().count() / 256 * 256, OneEpochOfBatches.run());
    }

    @Test
    void trainingLearnsFromAFewHundredImages(@TempDir Path out) throws Exception {
        FashionMnist data = FashionMnist.load();
        Trainer.Evaluation result = TrainInADozenLines.train(data.train().subset(0, 640), data.test().subset(0, 1000),
                1, out);
        assertEquals(1000, result.confusion().total());
        // Ten steps of Adam take the reference convnet well above chance (10%; about 46% here) on the test images.
        assertTrue(result.accuracy() > 0.25, "accuracy " + result.accuracy());
        assertTrue(Files.isRegularFile(out.resolve("last.safetensors")), "checkpoint in " + out);
    }

    @Test
    void servingFromManyThreadsGivesEachRequestItsOwnLogits() throws Exception {
        NetworkSpec spec = dev.stride.nn.NetworkBuilder.input(1, 8, 8).conv(4, 3).relu().flatten().fc(3).build();
        Random random = new Random(11);
        java.util.List<float[]> requests = new java.util.ArrayList<>();
        for (int r = 0; r < 24; r++) {
            float[] images = new float[(1 + r % 5) * 64];
            for (int i = 0; i < images.length; i++) images[i] = random.nextFloat() * 2 - 1;
            requests.add(images);
        }
        java.util.List<float[]> answers = ServeFromManyThreads.serve(spec, requests, 6);

        // The same weights (seed 42), one sample at a time on this thread.
        try (Network net = Network.create(spec, 42)) {
            Plan one = net.plan(1, Mode.INFERENCE);
            for (int r = 0; r < requests.size(); r++) {
                float[] images = requests.get(r);
                int k = images.length / 64;
                assertEquals(k * 3, answers.get(r).length, "request " + r);
                for (int s = 0; s < k; s++) {
                    one.input().copyFrom(java.util.Arrays.copyOfRange(images, s * 64, (s + 1) * 64));
                    float[] want = one.forward().toFloatArray();
                    for (int j = 0; j < 3; j++) {
                        assertEquals(want[j], answers.get(r)[s * 3 + j], 1e-5f * (1 + Math.abs(want[j])),
                                "request " + r + ", sample " + s + ", logit " + j);
                    }
                }
            }
        }
    }
}
