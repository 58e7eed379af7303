package dev.stride.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.bindings.omp.omp_h;
import dev.stride.nativelib.DnnlLoadException;
import dev.stride.testing.ChildJvm;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A wrong oneDNN given as an override fails in {@link Dnnl#init} with its path, its version and what it lacks,
 * not later as an {@link UnsatisfiedLinkError}. The wrong libraries are tiny fakes built here with gcc; each
 * runs in a child JVM because oneDNN is loaded once per JVM.
 */
class DnnlLibraryCheckTest {

    @TempDir
    Path tmp;

    /** Every C function the generated bindings call, found independently of Dnnl (by the accessor shape). */
    private static List<String> bound() {
        List<String> names = new ArrayList<>();
        for (Class<?> c : List.of(dnnl_h.class, omp_h.class)) {
            for (Method m : c.getMethods()) {
                if (m.getName().endsWith("$address") && m.getReturnType() == MemorySegment.class) {
                    names.add(m.getName().replace("$address", ""));
                }
            }
        }
        return names;
    }

    /**
     * Builds {@code libdnnl.so.3} in its own folder: {@code dnnl_version} reporting {@code version}, and a
     * dummy for each of {@code others} (never called: only looked up).
     */
    private Path fake(String name, int[] version, List<String> others) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        StringBuilder c = new StringBuilder("typedef struct { int major, minor, patch; const char *hash; "
                + "unsigned cpu_runtime, gpu_runtime; } v_t;\n");
        c.append("static const v_t v = {").append(version[0]).append(", ").append(version[1]).append(", ")
                .append(version[2]).append(", \"fake\", 2, 0};\n");
        c.append("const v_t *dnnl_version(void) { return &v; }\n");
        for (String f : others) {
            if (!f.equals("dnnl_version")) {
                c.append("void ").append(f).append("(void) {}\n");
            }
        }
        Path src = Files.writeString(dir.resolve("fake.c"), c);
        Path lib = dir.resolve("libdnnl.so.3");
        Process gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-o", lib.toString(), src.toString())
                .redirectErrorStream(true).start();
        String out = new String(gcc.getInputStream().readAllBytes());
        assertTrue(gcc.waitFor(60, TimeUnit.SECONDS) && gcc.exitValue() == 0, "gcc failed (is gcc installed?):\n" + out);
        return lib;
    }

    private ChildJvm.Result initWith(Path lib) throws Exception {
        return ChildJvm.run(DnnlLibraryCheckTest.class, 60, List.of("-Dstride.dnnl.path=" + lib));
    }

    @Test
    void anOlderOneDnnIsRefusedWithItsPathAndVersion() throws Exception {
        // What oneDNN 2.6 exports of our list, roughly: the engine API but not the 3.x memory descriptor API.
        Path lib = fake("v26", new int[] {2, 6, 3}, List.of("dnnl_engine_create", "dnnl_engine_destroy"));
        ChildJvm.Result r = initWith(lib);
        assertFalse(r.crashed(), r.output());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("REFUSED Cannot use oneDNN from " + lib), r.output());
        assertTrue(r.output().contains("it is oneDNN 2.6.3; Stride's bindings were generated for oneDNN 3.13 and need 3.x"),
                r.output());
        assertTrue(r.output().contains("it lacks " + (bound().size() - 3) + " of the " + bound().size() + " functions"),
                r.output());
    }

    @Test
    void aOneDnnMissingOneFunctionIsRefusedNamingIt() throws Exception {
        List<String> all = new ArrayList<>(bound());
        assertTrue(all.remove("dnnl_memory_desc_create_with_tag"));
        Path lib = fake("missing", new int[] {3, 13, 0}, all);
        ChildJvm.Result r = initWith(lib);
        assertFalse(r.crashed(), r.output());
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("REFUSED Cannot use oneDNN from " + lib + " (override): it is oneDNN 3.13.0"),
                r.output());
        assertTrue(r.output().contains("it lacks 1 of the " + bound().size() + " functions they call: "
                + "dnnl_memory_desc_create_with_tag."), r.output());
    }

    @Test
    void aLibraryWithEverythingPassesTheCheck() throws Exception {
        // The same fake with nothing missing gets past the check (and is then used: the child stops there).
        Path lib = fake("complete", new int[] {3, 13, 0}, bound());
        ChildJvm.Result r = ChildJvm.run(DnnlLibraryCheckTest.class, 60, List.of("-Dstride.dnnl.path=" + lib), "check-only");
        assertEquals(0, r.exitCode(), r.output());
        assertTrue(r.output().contains("CHECKED " + lib), r.output());
    }

    @Test
    void debiansOneDnn2IsRefusedWhenInstalled() throws Exception {
        Path system = Path.of("/usr/lib/x86_64-linux-gnu/libdnnl.so.2");
        Assumptions.assumeTrue(Files.isRegularFile(system), "Debian's libdnnl2 is not installed (optional)");
        ChildJvm.Result r = initWith(system);
        assertFalse(r.crashed(), r.output());
        assertTrue(r.output().contains("REFUSED Cannot use oneDNN from ") && r.output().contains("it is oneDNN 2."),
                r.output());
    }

    /**
     * The child: {@link Dnnl#init} with the override it was given; prints the refusal. With "check-only", runs
     * only the version and symbol check, which is all a fake library can answer.
     */
    public static void main(String[] args) {
        try {
            if (args.length > 0 && args[0].equals("check-only")) {
                Dnnl.loadVerified();
                System.out.println("CHECKED " + System.getProperty("stride.dnnl.path"));
                return;
            }
            Dnnl.init();
            System.out.println("ACCEPTED");
            System.exit(1);
        } catch (DnnlLoadException e) {
            System.out.println("REFUSED " + e.getMessage());
        }
    }
}
