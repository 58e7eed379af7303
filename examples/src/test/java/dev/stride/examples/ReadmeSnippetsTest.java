package dev.stride.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * README.md's Java snippets are the examples' code: every {@code // @start region=NAME} ... {@code // @end}
 * region of the example sources appears in README.md as a {@code ```java} block, verbatim once the region's
 * common indentation is removed, and README.md has no other Java block.
 */
class ReadmeSnippetsTest {

    private static final Path ROOT = Path.of(System.getProperty("stride.repo.root", ".."));

    @Test
    void readmeShowsExactlyTheExampleRegions() throws IOException {
        Map<String, String> regions = regions(ROOT.resolve("examples/src/main/java/dev/stride/examples"));
        List<String> blocks = javaBlocks(Files.readString(ROOT.resolve("README.md")));
        assertFalse(regions.isEmpty(), "no regions found");
        for (var region : regions.entrySet()) {
            assertTrue(blocks.contains(region.getValue()), "README.md lacks region '" + region.getKey()
                    + "' verbatim; paste it as a ```java block:\n" + region.getValue());
        }
        for (String block : blocks) {
            assertTrue(regions.containsValue(block), "README.md has a Java block that no example compiles; move it "
                    + "into examples/ between // @start region=NAME and // @end:\n" + block);
        }
    }

    @Test
    void regionsAreDedentedAndBlocksFound() {
        String source = "class A {\n    void f() {\n        // @start region=x\n        int a = 1;\n"
                + "        if (a > 0) {\n            a++;\n        }\n        // @end\n    }\n}\n";
        assertEquals("int a = 1;\nif (a > 0) {\n    a++;\n}\n", regionsOf("A.java", source).get("x"));
        assertEquals(List.of("int a = 1;\n"), javaBlocks("text\n```java\nint a = 1;\n```\n```sh\nmake\n```\n"));
    }

    /** Every region of the .java files under {@code dir}, by name. */
    private static Map<String, String> regions(Path dir) throws IOException {
        Map<String, String> all = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                for (var e : regionsOf(file.getFileName().toString(), Files.readString(file)).entrySet()) {
                    assertTrue(all.put(e.getKey(), e.getValue()) == null, "region '" + e.getKey() + "' defined twice");
                }
            }
        }
        return all;
    }

    private static Map<String, String> regionsOf(String file, String source) {
        Map<String, String> regions = new LinkedHashMap<>();
        String name = null;
        List<String> lines = new ArrayList<>();
        for (String line : source.split("\n", -1)) {
            String t = line.strip();
            if (t.startsWith("// @start region=")) {
                assertTrue(name == null, file + ": region '" + name + "' has no // @end");
                name = t.substring("// @start region=".length());
                lines.clear();
            } else if (t.equals("// @end")) {
                assertTrue(name != null, file + ": // @end without // @start");
                regions.put(name, dedent(lines));
                name = null;
            } else if (name != null) {
                lines.add(line);
            }
        }
        assertTrue(name == null, file + ": region '" + name + "' has no // @end");
        return regions;
    }

    private static String dedent(List<String> lines) {
        int indent = lines.stream().filter(l -> !l.isBlank())
                .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
        StringBuilder sb = new StringBuilder();
        for (String l : lines) {
            sb.append(l.isBlank() ? "" : l.substring(indent).stripTrailing()).append('\n');
        }
        return sb.toString();
    }

    /** The bodies of the {@code ```java} fenced blocks of a Markdown text. */
    private static List<String> javaBlocks(String markdown) {
        List<String> blocks = new ArrayList<>();
        StringBuilder block = null;
        for (String line : markdown.split("\n", -1)) {
            if (block == null && line.strip().equals("```java")) {
                block = new StringBuilder();
            } else if (block != null && line.strip().equals("```")) {
                blocks.add(block.toString());
                block = null;
            } else if (block != null) {
                block.append(line.stripTrailing()).append('\n');
            }
        }
        return blocks;
    }
}
