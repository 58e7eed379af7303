package dev.stride.bindings.generator;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The checked-in description of what to bind: {@code key = value} lines, {@code #} comments.
 *
 * <pre>
 * package        = dev.stride.bindings.dnnl            (target package)
 * header-class   = dnnl_h                              (the class with functions, constants, macros)
 * symbol-lookup  = dev.stride.nativelib.DnnlLibrary.symbolLookup()   (a Java expression)
 * library-name   = oneDNN                              (for the generated-file banner)
 * version-macros = DNNL_VERSION_MAJOR DNNL_VERSION_MINOR DNNL_VERSION_PATCH
 * root           = oneapi/dnnl/dnnl.h                  (repeatable: what the translation unit includes)
 * header         = oneapi/dnnl/dnnl_types.h            (repeatable: included headers whose declarations count)
 * ignore-header  = oneapi/dnnl/foo.h                   (repeatable: included, under the roots' folder, not bound)
 * exclude        = SYMBOL: reason                      (repeatable: a symbol the generator may not bind)
 * </pre>
 *
 * Roots count as headers. A header under a root's folder that is neither a header nor ignored is
 * an error, so a new oneDNN header shows up as a config diff, not as silently missing bindings.
 */
record Config(String packageName, String headerClass, String symbolLookup, String libraryName,
              List<String> versionMacros, List<String> roots, List<String> headers, List<String> ignoredHeaders,
              Map<String, String> excludes) {

    static Config read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new GeneratorException("cannot read config " + file + ": " + e.getMessage(), e);
        }
        Map<String, String> single = new LinkedHashMap<>();
        List<String> roots = new ArrayList<>();
        List<String> headers = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        Map<String, String> excludes = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = file.getFileName() + ":" + (i + 1);
            int eq = line.indexOf('=');
            if (eq < 0) {
                throw new GeneratorException(where + ": expected `key = value`, got: " + line);
            }
            String key = line.substring(0, eq).strip();
            String value = line.substring(eq + 1).strip();
            if (value.isEmpty()) {
                throw new GeneratorException(where + ": empty value for " + key);
            }
            switch (key) {
                case "package", "header-class", "symbol-lookup", "library-name", "version-macros" -> {
                    if (single.put(key, value) != null) {
                        throw new GeneratorException(where + ": " + key + " given twice");
                    }
                }
                case "root" -> roots.add(value);
                case "header" -> headers.add(value);
                case "ignore-header" -> ignored.add(value);
                case "exclude" -> {
                    int colon = value.indexOf(':');
                    if (colon <= 0 || value.substring(colon + 1).isBlank()) {
                        throw new GeneratorException(where + ": exclude needs `SYMBOL: reason`, got: " + value);
                    }
                    if (excludes.put(value.substring(0, colon).strip(), value.substring(colon + 1).strip()) != null) {
                        throw new GeneratorException(where + ": " + value.substring(0, colon) + " excluded twice");
                    }
                }
                default -> throw new GeneratorException(where + ": unknown key " + key);
            }
        }
        for (String required : List.of("package", "header-class", "symbol-lookup", "library-name")) {
            if (!single.containsKey(required)) {
                throw new GeneratorException(file + ": missing `" + required + " = ...`");
            }
        }
        if (roots.isEmpty()) {
            throw new GeneratorException(file + ": no `root = ...` header");
        }
        List<String> all = new ArrayList<>(roots);
        for (String h : headers) {
            if (!all.contains(h)) {
                all.add(h);
            }
        }
        String version = single.get("version-macros");
        return new Config(single.get("package"), single.get("header-class"), single.get("symbol-lookup"),
                single.get("library-name"), version == null ? List.of() : List.of(version.split("\\s+")),
                List.copyOf(roots), List.copyOf(all), List.copyOf(ignored), Map.copyOf(excludes));
    }

    /** Sorted, so exclusion order in the file does not matter. */
    List<String> excludedNames() {
        return excludes.keySet().stream().sorted().toList();
    }
}
