package dev.stride.examples;

import dev.stride.core.Scope;
import dev.stride.data.BatchLoader;
import dev.stride.data.FashionMnist;
import java.io.IOException;

/** README, files and data: one epoch of augmented Fashion-MNIST training batches. */
public final class OneEpochOfBatches {

    private OneEpochOfBatches() {}

    /** Prints how many images one epoch delivered. */
    public static void main(String[] args) throws IOException {
        System.out.println(run() + " images");
    }

    // @start region=batches
    static int run() throws IOException {
        FashionMnist data = FashionMnist.load();                                   // or load(Path.of(dir))
        int images = 0;
        try (Scope scope = Scope.open("train");
             BatchLoader loader = BatchLoader.create(scope, data.train(),
                     BatchLoader.Options.training(256, 42).withAugmentation(2, true))) {
            loader.startEpoch(0);
            for (BatchLoader.Batch b; (b = loader.next()) != null; ) {
                images += b.count();    // b.images(): 256 x 1 x 28 x 28 f32 tensor, b.labels()
            }
        }
        return images;
    }
    // @end
}
