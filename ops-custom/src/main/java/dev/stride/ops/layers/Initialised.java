package dev.stride.ops.layers;

import dev.stride.nn.Layer;
import dev.stride.nn.LayerOp;
import dev.stride.nn.Mode;
import dev.stride.nn.Param;
import dev.stride.nn.PlanContext;
import dev.stride.nn.Shape;
import dev.stride.nn.Window;
import dev.stride.nn.layers.ActivationLayer;
import dev.stride.nn.layers.ConvLayer;
import dev.stride.nn.layers.DenseLayer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Another layer with some of its parameters initialised differently (PyTorch's {@code nn.init.zeros_} on a
 * module after construction), under its own kind, so it gets its own default names ({@code deform_offset1}).
 * Everything else, planning included, is the wrapped layer's: the offset convolution of a deformable
 * convolution is a {@link ConvLayer} that starts at zero, the head of a localization network a
 * {@link DenseLayer} that starts as the identity transform.
 *
 * <p>The planner folds batch normalization only into a bare {@link ConvLayer}, so a wrapped
 * convolution followed by batch normalization keeps it as a separate primitive in inference plans.
 *
 * @param layer the layer whose parameters are re-initialised
 * @param kind  the kind shown in summaries and used for default names
 * @param inits parameter name to initialisation ({@code weight -> ZEROS}); every name must be a parameter of
 *              {@code layer}, checked when the layer is added
 *
 * <p>Immutable: a layer description, safe to share between networks and threads; each plan gets its own op
 * objects.
 */
public record Initialised(Layer layer, String kind, Map<String, Param.Init> inits) implements Layer {

    public Initialised {
        if (layer == null || kind == null || kind.isEmpty() || inits == null || inits.isEmpty()) {
            throw new IllegalArgumentException("Initialised needs a layer, a kind and at least one initialisation, got "
                    + layer + ", " + kind + ", " + inits);
        }
        inits = Collections.unmodifiableMap(new LinkedHashMap<>(inits));
    }

    /** {@code layer} with parameter {@code name} initialised by {@code init} (and {@code name2} by {@code init2}). */
    public static Initialised of(Layer layer, String kind, String name, Param.Init init, String name2, Param.Init init2) {
        Map<String, Param.Init> m = new LinkedHashMap<>();
        m.put(name, init);
        m.put(name2, init2);
        return new Initialised(layer, kind, m);
    }

    @Override
    public String kind() {
        return kind;
    }

    @Override
    public String settings() {
        String inner = layer.settings();
        String init = inits.entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue().name().toLowerCase(Locale.ROOT))
                .collect(Collectors.joining(", "));
        return (inner.isEmpty() ? "" : inner + ", ") + "init " + init;
    }

    @Override
    public int arity() {
        return layer.arity();
    }

    @Override
    public Shape outputShape(String name, List<Shape> inputs) {
        Shape out = layer.outputShape(name, inputs);
        List<String> names = layer.params(inputs).stream().map(Param::name).toList();
        for (String p : inits.keySet()) {
            if (!names.contains(p)) {
                throw new IllegalArgumentException(name + ": cannot initialise '" + p + "': the " + layer.kind()
                        + " layer has parameters " + names);
            }
        }
        try {
            params(inputs);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
        }
        return out;
    }

    @Override
    public List<Param> params(List<Shape> inputs) {
        return layer.params(inputs).stream().map(p -> {
            Param.Init init = inits.get(p.name());
            if (init == null) {
                return p;
            }
            return p.state() ? Param.state(p.name(), p.dims(), init)
                    : Param.learned(p.name(), p.dims(), init, p.fanIn(), p.fanOut());
        }).toList();
    }

    @Override
    public Window window(List<Shape> inputs) {
        return layer.window(inputs);
    }

    @Override
    public long flops(List<Shape> inputs, Shape output) {
        return layer.flops(inputs, output);
    }

    @Override
    public LayerOp plan(PlanContext ctx) {
        return layer.plan(ctx);
    }

    @Override
    public boolean fuses(ActivationLayer next, Mode mode) {
        return layer.fuses(next, mode);
    }
}
