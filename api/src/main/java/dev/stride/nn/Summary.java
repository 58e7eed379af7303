package dev.stride.nn;

import dev.stride.nn.layers.ConvLayer;
import dev.stride.nn.layers.PoolLayer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A table of every layer (output shape, parameters, receptive field, FLOPs) and the seed's sizing hints:
 * input sizes that stop dividing by 2, filters larger than 3x3 where a stack of 3x3 would do, strided
 * convolutions where pooling is expected, padding that does not keep the size.
 *
 * <p>Immutable once built.
 */
public final class Summary {

    /** One row of the table. */
    public record Row(String name, String kind, String settings, String inputs, String output, long params, String receptiveField,
            long flops) {}

    private final List<Row> rows = new ArrayList<>();
    private final List<String> hints = new ArrayList<>();
    private final long totalParams;
    private final long totalFlops;

    Summary(NetworkSpec spec) {
        for (Node n : spec.nodes()) {
            String inputs = String.join(", ", n.inputs().stream().map(Node::name).toList());
            rows.add(new Row(n.name(), n.isInput() ? "input" : n.layer().kind(), n.isInput() ? "" : n.layer().settings(),
                    inputs, n.shape().toString(), n.parameterCount(), n.receptiveFieldText(), n.flops()));
            hints(n);
        }
        totalParams = spec.parameterCount();
        totalFlops = spec.flops();
    }

    private void hints(Node n) {
        if (n.isInput() || n.inputs().size() != 1) {
            return;
        }
        Shape in = n.inputs().getFirst().shape();
        if (n.layer() instanceof ConvLayer) {
            Window w = n.layer().window(List.of(in));
            boolean big = false;
            for (long f : w.extent()) {
                big |= f > 3;
            }
            boolean firstLayer = n.inputs().getFirst().isInput();
            if (big && !firstLayer) {
                long f = w.extent()[0];
                hints.add(n.name() + ": " + f + "x" + f + " filters: a stack of " + (f - 1) / 2
                        + " 3x3 convolutions sees the same " + f + "x" + f + " region with fewer parameters and more "
                        + "non-linearities");
            }
            boolean strided = false;
            for (long s : w.stride()) {
                strided |= s > 1;
            }
            if (strided) {
                hints.add(n.name() + ": stride " + Shape.of(w.stride()) + " convolution: the seed keeps convolutions at "
                        + "stride 1 and downsamples with 2x2/2 pooling");
            } else if (!sameSpatial(in, n.shape())) {
                hints.add(n.name() + ": changes " + spatial(in) + " to " + spatial(n.shape()) + "; padding P = (F-1)/2"
                        + " (or \"same\") keeps the size");
            }
        }
        if (n.layer() instanceof PoolLayer || n.layer() instanceof ConvLayer) {
            Window w = n.layer().window(List.of(in));
            if (!w.global()) {
                for (int i = 0; i < w.stride().length; i++) {
                    if (w.stride()[i] == 2 && in.dim(1 + i) % 2 != 0) {
                        hints.add(n.name() + ": input " + spatial(in) + " is not divisible by 2 here; choose an input "
                                + "size divisible by 2 once per downsampling (e.g. 32, 64, 224)");
                        break;
                    }
                }
            }
        }
    }

    private static boolean sameSpatial(Shape a, Shape b) {
        if (a.rank() != b.rank()) {
            return false;
        }
        for (int i = 1; i < a.rank(); i++) {
            if (a.dim(i) != b.dim(i)) {
                return false;
            }
        }
        return true;
    }

    private static String spatial(Shape s) {
        long[] d = s.dims();
        return Shape.of(java.util.Arrays.copyOfRange(d, 1, d.length)).toString();
    }

    public List<Row> rows() {
        return List.copyOf(rows);
    }

    public List<String> hints() {
        return List.copyOf(hints);
    }

    public long totalParams() {
        return totalParams;
    }

    public long totalFlops() {
        return totalFlops;
    }

    /** The table in Markdown. */
    public String toMarkdown() {
        StringBuilder sb = new StringBuilder("| layer | kind | settings | output | params | receptive field | FLOPs |\n");
        sb.append("|---|---|---|---|---:|---|---:|\n");
        for (Row r : rows) {
            sb.append("| ").append(r.name()).append(" | ").append(r.kind()).append(" | ").append(r.settings())
                    .append(" | ").append(r.output()).append(" | ").append(r.params()).append(" | ")
                    .append(r.receptiveField()).append(" | ").append(flops(r.flops())).append(" |\n");
        }
        sb.append("\nTotal: ").append(totalParams).append(" parameters, ").append(flops(totalFlops))
                .append(" FLOPs per sample (forward).\n");
        for (String h : hints) {
            sb.append("\n- hint: ").append(h);
        }
        return sb.toString();
    }

    /** The table as aligned plain text. */
    @Override
    public String toString() {
        String[] head = {"layer", "kind", "settings", "output", "params", "RF / jump", "FLOPs"};
        List<String[]> cells = new ArrayList<>();
        cells.add(head);
        for (Row r : rows) {
            cells.add(new String[] {r.name(), r.kind(), r.settings(), r.output(), String.valueOf(r.params()),
                    r.receptiveField(), flops(r.flops())});
        }
        int[] width = new int[head.length];
        for (String[] row : cells) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] row : cells) {
            for (int i = 0; i < row.length; i++) {
                boolean numeric = i == 4 || i == 6;
                String fmt = "%" + (numeric ? "" : "-") + width[i] + "s";
                sb.append(String.format(Locale.ROOT, fmt, row[i])).append(i == row.length - 1 ? "\n" : "  ");
            }
        }
        sb.append("total: ").append(totalParams).append(" parameters, ").append(flops(totalFlops))
                .append(" FLOPs per sample (forward)\n");
        for (String h : hints) {
            sb.append("hint: ").append(h).append('\n');
        }
        return sb.toString();
    }

    static String flops(long f) {
        if (f >= 1_000_000_000L) {
            return String.format(Locale.ROOT, "%.2fG", f / 1e9);
        }
        if (f >= 1_000_000L) {
            return String.format(Locale.ROOT, "%.2fM", f / 1e6);
        }
        if (f >= 1_000L) {
            return String.format(Locale.ROOT, "%.1fK", f / 1e3);
        }
        return String.valueOf(f);
    }
}
