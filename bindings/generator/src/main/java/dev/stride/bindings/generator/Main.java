package dev.stride.bindings.generator;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Generates the FFM bindings, or checks that the committed ones are current.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp stride-bindings-generator.jar dev.stride.bindings.generator.Main \
 *     --headers native/target/dnnl/org/bytedeco/dnnl/linux-x86_64/include \
 *     --config bindings/dnnl-bindings.conf --out bindings/src/main/java [--check]
 * </pre>
 *
 * The generated package folder belongs to the generator: regeneration deletes {@code .java} files
 * there that it no longer produces, and {@code --check} reports them as extra.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        try {
            System.exit(run(args));
        } catch (GeneratorException e) {
            System.err.println("bindings generator: " + e.getMessage());
            System.exit(2);
        }
    }

    /** Returns the process exit code: 0 done/current, 1 out of date (check mode), 2 usage. */
    static int run(String[] args) {
        Path headers = null;
        Path config = null;
        Path out = null;
        boolean check = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--headers" -> headers = Path.of(value(args, ++i));
                case "--config" -> config = Path.of(value(args, ++i));
                case "--out" -> out = Path.of(value(args, ++i));
                case "--check" -> check = true;
                default -> throw new GeneratorException("unknown argument " + args[i] + "; usage: --headers <include dir> "
                        + "--config <file.conf> --out <source root> [--check]. Got " + Arrays.toString(args));
            }
        }
        if (headers == null || config == null || out == null) {
            throw new GeneratorException("usage: --headers <include dir> --config <file.conf> --out <source root> [--check]");
        }
        Config cfg = Config.read(config);
        Map<String, String> files = generate(headers, cfg);
        Path pkg = out.resolve(cfg.packageName().replace('.', '/'));
        if (check) {
            List<String> problems = compare(files, out, pkg);
            if (problems.isEmpty()) {
                System.out.println("bindings are current: " + files.size() + " files in " + pkg);
                return 0;
            }
            System.err.println("bindings in " + pkg + " are out of date; regenerate them:\n  "
                    + String.join("\n  ", problems));
            return 1;
        }
        write(files, out, pkg);
        System.out.println("wrote " + files.size() + " files to " + pkg);
        return 0;
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new GeneratorException(args[i - 1] + " needs a value");
        }
        return args[i];
    }

    /** Parses the headers and renders the sources: relative path to contents. */
    static Map<String, String> generate(Path includeDir, Config config) {
        LibClang clang = LibClang.load();
        Api api = new HeaderParser(clang, config, includeDir).parse();
        return new BindingsWriter(api, config).write();
    }

    /** Generates into {@code out}, replacing the generated package's {@code .java} files. */
    static void write(Map<String, String> files, Path out, Path pkg) {
        try {
            Files.createDirectories(pkg);
            for (Path stale : javaFiles(pkg)) {
                if (!files.containsKey(out.relativize(stale).toString().replace('\\', '/'))) {
                    Files.delete(stale);
                }
            }
            for (Map.Entry<String, String> e : files.entrySet()) {
                Path file = out.resolve(e.getKey());
                Files.createDirectories(file.getParent());
                Files.writeString(file, e.getValue(), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Files that differ from, are missing from, or are extra in the committed package folder. */
    static List<String> compare(Map<String, String> files, Path out, Path pkg) {
        List<String> problems = new ArrayList<>();
        TreeSet<String> committed = new TreeSet<>();
        for (Path p : javaFiles(pkg)) {
            committed.add(out.relativize(p).toString().replace('\\', '/'));
        }
        for (Map.Entry<String, String> e : files.entrySet()) {
            Path file = out.resolve(e.getKey());
            if (!committed.remove(e.getKey())) {
                problems.add("missing: " + file);
                continue;
            }
            try {
                if (!Arrays.equals(Files.readAllBytes(file), e.getValue().getBytes(StandardCharsets.UTF_8))) {
                    problems.add("differs: " + file);
                }
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
        }
        for (String extra : committed) {
            problems.add("extra (not generated): " + out.resolve(extra));
        }
        return problems;
    }

    private static List<Path> javaFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
