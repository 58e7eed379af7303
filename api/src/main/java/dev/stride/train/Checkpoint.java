package dev.stride.train;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.io.Safetensors;
import dev.stride.nn.Network;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.function.Predicate;

/**
 * Network weights and training state in a safetensors file: the network's tensors under their own names
 * ({@code conv1.weight}, {@code bn1.running_mean}: PyTorch's {@code state_dict} names), the optimizer's state
 * under {@code optimizer.<parameter>.<buffer>}, and strings (epoch, accuracy, model) in the metadata. Written
 * atomically with a checksum; a truncated or corrupted file is refused on load and never replaces a good one.
 *
 * <p>Thread-safe as functions, but a load writes the network's tensors: no plan of that network may run during it
 * (see {@link dev.stride.nn.Network}).
 */
public final class Checkpoint {
    private Checkpoint() {}

    /** Prefix of the optimizer's tensors in a checkpoint. */
    public static final String OPTIMIZER_PREFIX = "optimizer.";
    /** Metadata key of the optimizer's step count. */
    public static final String OPTIMIZER_STEPS = "optimizer.steps";

    /** Writes {@code net}'s tensors, {@code optimizer}'s state (may be null) and {@code metadata}. */
    public static void save(Path file, Network net, Optimizer optimizer, Map<String, String> metadata) throws IOException {
        SequencedMap<String, Safetensors.Source> tensors = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : net.tensors().entrySet()) {
            tensors.put(e.getKey(), Safetensors.Source.of(e.getValue()));
        }
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        if (optimizer != null) {
            for (Map.Entry<String, Tensor> e : optimizer.state().entrySet()) {
                tensors.put(OPTIMIZER_PREFIX + e.getKey(), Safetensors.Source.of(e.getValue()));
            }
            meta.put(OPTIMIZER_STEPS, Long.toString(optimizer.stepCount()));
        }
        Safetensors.write(file, tensors, meta);
    }

    /**
     * Restores everything {@link #save} wrote: every tensor of {@code net} must be in the file with the same
     * number of values (dims may be split differently, e.g. PyTorch's {@code 1024 x 3136} FC weights for our
     * {@code 1024 x 64 x 7 x 7}); {@code optimizer} (may be null) gets its state back. Nothing is changed
     * unless the whole file is valid and complete: every tensor present, of a convertible dtype and the right
     * size, and the step count a non-negative integer. The file is read into memory first
     * ({@link Safetensors#load}), so a file truncated on disk meanwhile cannot leave the network half loaded.
     *
     * @return the file's metadata
     * @throws IOException naming the file, for any of the above
     */
    public static Map<String, String> load(Path file, Network net, Optimizer optimizer) throws IOException {
        try (Scope scope = Scope.open("checkpoint")) {
            Safetensors.Reader r = Safetensors.load(scope, file);
            List<String> missing = new ArrayList<>();
            for (String name : net.tensors().keySet()) {
                if (!r.contains(name)) {
                    missing.add(name);
                } else {
                    checkShape(file, name, net.tensor(name), r.get(name));
                }
            }
            Map<String, Tensor> state = optimizer == null ? Map.of() : optimizer.state();
            for (String name : state.keySet()) {
                if (!r.contains(OPTIMIZER_PREFIX + name)) {
                    missing.add(OPTIMIZER_PREFIX + name);
                } else {
                    checkShape(file, OPTIMIZER_PREFIX + name, state.get(name), r.get(OPTIMIZER_PREFIX + name));
                }
            }
            if (!missing.isEmpty()) {
                throw new IOException(file + ": checkpoint lacks " + missing.size() + " tensor(s) this network needs: "
                        + missing);
            }
            long steps = -1;
            if (optimizer != null && r.metadata().containsKey(OPTIMIZER_STEPS)) {
                String text = r.metadata().get(OPTIMIZER_STEPS);
                try {
                    steps = Long.parseLong(text.strip());
                } catch (NumberFormatException e) {
                    steps = -1;
                }
                if (steps < 0) {
                    throw new IOException(file + ": metadata " + OPTIMIZER_STEPS + " is '" + text
                            + "', expected a non-negative integer");
                }
            }
            for (String name : net.tensors().keySet()) {
                r.get(name).copyTo(net.tensor(name).segment());
            }
            for (Map.Entry<String, Tensor> e : state.entrySet()) {
                r.get(OPTIMIZER_PREFIX + e.getKey()).copyTo(e.getValue().segment());
            }
            if (steps >= 0) {
                optimizer.setStepCount(steps);
            }
            return r.metadata();
        }
    }

    /** What {@link #loadWeights} did. */
    public record LoadReport(List<String> loaded, List<String> skipped, List<String> notInFile) {}

    /**
     * Fine-tuning: copies the tensors whose names {@code include} accepts from a state dict (a Stride
     * checkpoint, or a safetensors file written from PyTorch), by name, with shape checks. Names the file lacks
     * are reported, not an error: a replaced head keeps its fresh initialisation. The file's other tensors
     * (an optimizer's, another head's) are ignored.
     */
    public static LoadReport loadWeights(Path file, Network net, Predicate<String> include) throws IOException {
        try (Scope scope = Scope.open("weights")) {
            Safetensors.Reader r = Safetensors.open(scope, file);
            List<String> loaded = new ArrayList<>();
            List<String> skipped = new ArrayList<>();
            List<String> notInFile = new ArrayList<>();
            for (String name : net.tensors().keySet()) {
                if (!include.test(name)) {
                    skipped.add(name);
                } else if (!r.contains(name)) {
                    notInFile.add(name);
                } else {
                    checkShape(file, name, net.tensor(name), r.get(name));
                    loaded.add(name);
                }
            }
            try {
                for (String name : loaded) {
                    r.get(name).copyTo(net.tensor(name).segment());
                }
            } catch (IllegalStateException e) {
                // The mapped file was truncated on disk while the weights were copied.
                throw new IOException(file + ": " + e.getMessage(), e);
            }
            return new LoadReport(loaded, skipped, notInFile);
        }
    }

    private static void checkShape(Path file, String name, Tensor into, Safetensors.Entry e) throws IOException {
        if (!e.convertsToF32()) {
            throw new IOException(file + ": tensor '" + name + "' is " + e.dtype() + ", which does not convert to the "
                    + "network's f32");
        }
        if (e.elements() != into.segment().byteSize() / Float.BYTES) {
            throw new IOException(file + ": tensor '" + name + "' has shape " + Arrays.toString(e.shape())
                    + " in the file, but the network's is " + Arrays.toString(into.dims()));
        }
    }
}
