package dev.stride.bindings.generator;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The committed bindings must be exactly what the generator makes of the oneDNN headers the build
 * ships. Fails (never skips) without libclang: CI installs libclang1-14.
 */
class DriftCheckTest {

    static Path repoRoot() {
        String prop = System.getProperty("stride.repo.root");
        if (prop != null && Files.isRegularFile(Path.of(prop, "bindings/dnnl-bindings.conf"))) {
            return Path.of(prop);
        }
        for (Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("bindings/dnnl-bindings.conf"))) {
                return p;
            }
        }
        return fail("cannot find the repository root (bindings/dnnl-bindings.conf) from stride.repo.root="
                + prop + " or user.dir=" + System.getProperty("user.dir"));
    }

    /** Each config with the include directory `make bindings` passes for it. */
    @ParameterizedTest
    @ValueSource(strings = {"dnnl-bindings.conf", "omp-bindings.conf", "clock-bindings.conf"})
    void committedBindingsMatchTheHeaders(String configName) {
        Path root = repoRoot();
        Path include;
        if (configName.startsWith("dnnl")) {
            String buildDir = System.getProperty("stride.dnnl.buildDir");
            assertTrue(buildDir != null, "-Dstride.dnnl.buildDir is not set (Surefire passes it from the parent pom)");
            include = Path.of(buildDir, "include");
            assertTrue(Files.isRegularFile(include.resolve("oneapi/dnnl/dnnl.h")),
                    "no oneDNN headers under " + include + ": build the native module first (mvn -pl native package)");
        } else {
            include = root.resolve("bindings/include");
        }
        Config config = Config.read(root.resolve("bindings/" + configName));
        Map<String, String> files = Main.generate(include, config);
        Path out = root.resolve("bindings/src/main/java");
        List<String> problems = Main.compare(files, out, out.resolve(config.packageName().replace('.', '/')));
        assertTrue(problems.isEmpty(), "committed bindings differ from the generator's output; regenerate with "
                + "`make bindings`:\n  " + String.join("\n  ", problems));
    }
}
