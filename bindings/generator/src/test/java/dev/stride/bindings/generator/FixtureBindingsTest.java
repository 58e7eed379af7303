package dev.stride.bindings.generator;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end over a fixture library: gcc builds {@code fixture.c} into a {@code .so}, the generator
 * binds {@code fixture.h}, javac compiles the output, and the test calls through it.
 */
class FixtureBindingsTest {

    @TempDir
    static Path tmp;

    static Path fixtureDir;
    static Map<String, String> sources;
    static URLClassLoader loader;
    static Class<?> h;
    static Class<?> mixed;
    static Class<?> pair;

    @BeforeAll
    static void buildAndGenerate() throws Exception {
        fixtureDir = resourceDir("fixture");
        Path lib = tmp.resolve("libfixture.so");
        run(List.of("gcc", "-shared", "-fPIC", "-Wall", "-Werror", "-o", lib.toString(),
                fixtureDir.resolve("fixture.c").toString()));
        System.setProperty("stride.fixture.lib", lib.toString());

        sources = Main.generate(fixtureDir, Config.read(fixtureDir.resolve("fixture.conf")));
        Path src = tmp.resolve("src");
        Main.write(sources, src, src.resolve("dev/stride/fixture"));
        Path classes = Files.createDirectories(tmp.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> args = new ArrayList<>(List.of("--release", "25", "-Xlint:all,-restricted", "-Werror",
                "-d", classes.toString()));
        for (String f : sources.keySet()) {
            args.add(src.resolve(f).toString());
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, null, err, args.toArray(String[]::new));
        assertEquals(0, rc, "generated fixture bindings do not compile:\n" + err);
        loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, FixtureBindingsTest.class.getClassLoader());
        h = loader.loadClass("dev.stride.fixture.fixture_h");
        mixed = loader.loadClass("dev.stride.fixture.fx_mixed_t");
        pair = loader.loadClass("dev.stride.fixture.fx_pair");
    }

    static Path resourceDir(String name) throws URISyntaxException {
        URL url = FixtureBindingsTest.class.getClassLoader().getResource(name);
        assertTrue(url != null, "test resource folder " + name + " missing");
        return Path.of(url.toURI());
    }

    private static void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "timed out: " + command);
        assertEquals(0, p.exitValue(), command + " failed:\n" + out);
    }

    /** Calls a static method of {@code cls} by name and arity, unwrapping the target exception. */
    static Object call(Class<?> cls, String name, Object... args) throws Throwable {
        for (Method m : cls.getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == args.length) {
                try {
                    return m.invoke(null, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            }
        }
        throw new AssertionError(cls.getSimpleName() + " has no method " + name + "/" + args.length);
    }

    static boolean hasMethod(Class<?> cls, String name) {
        for (Method m : cls.getMethods()) {
            if (m.getName().equals(name)) {
                return true;
            }
        }
        return false;
    }

    @Test
    void scalarFunctionsRoundTrip() throws Throwable {
        assertEquals(5, call(h, "fx_add", 2, 3));
        assertEquals(3.0, (double) call(h, "fx_scale", 1.5f, 2.0));
        assertEquals((byte) 0x80, call(h, "fx_byte", (byte) 0x7f));
        assertEquals(-2, call(h, "fx_unsigned", 0x7fffffff)); // uint32_t travels as int bits
        assertEquals(int.class, h.getMethod("fx_unsigned", int.class).getReturnType());
        assertEquals(long.class, h.getMethod("fx_sum_dims", int.class, MemorySegment.class).getReturnType());
        assertEquals(-7, call(h, "fx_unused", -7)); // unnamed parameter becomes x0
    }

    @Test
    void pointerAndArrayParameters() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dims = arena.allocateFrom(ValueLayout.JAVA_LONG, 1, 2, 3, 4);
            assertEquals(10L, call(h, "fx_sum_dims", 4, dims));
            MemorySegment values = arena.allocateFrom(ValueLayout.JAVA_LONG, 1L << 40, 5, -6);
            assertEquals((1L << 40) - 1, call(h, "fx_sum_array", values, 3L));
        }
    }

    @Test
    void enumsMapToInt() throws Throwable {
        int blue = (int) call(h, "fx_blue");
        assertEquals(-3, blue);
        assertEquals(-30, call(h, "fx_color_value", blue));
        assertEquals(2, call(h, "fx_next_color", (int) call(h, "fx_red")));
        assertEquals(256, call(h, "fx_flag_b"));
    }

    @Test
    void outPointerAndOpaqueHandle() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            assertEquals(0, call(h, "fx_obj_create", out, 41));
            MemorySegment obj = out.get(ValueLayout.ADDRESS, 0);
            assertNotEquals(MemorySegment.NULL, obj);
            assertEquals(41, call(h, "fx_obj_value", obj));
            call(h, "fx_obj_destroy", obj);
            assertEquals(-1, call(h, "fx_obj_create", MemorySegment.NULL, 1));
        }
    }

    /**
     * A function pointer typedef becomes a class with the interface C calls and an upcall stub factory: C calls
     * it once per index, with the context pointer it was given, and sums what it returns.
     */
    @Test
    void callbackTypedefMakesUpcallStubs() throws Throwable {
        Class<?> visit = loader.loadClass("dev.stride.fixture.fx_visit_fn");
        Class<?> fn = loader.loadClass("dev.stride.fixture.fx_visit_fn$Function");
        List<Long> contexts = new ArrayList<>();
        Object impl = java.lang.reflect.Proxy.newProxyInstance(loader, new Class<?>[] {fn}, (proxy, method, args) -> {
            contexts.add(((MemorySegment) args[0]).address());
            return 10 * (int) args[1] + 1;
        });
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment stub = (MemorySegment) visit.getMethod("allocate", fn, Arena.class).invoke(null, impl, arena);
            MemorySegment ctx = MemorySegment.ofAddress(0x1234);
            assertEquals(4 + 10 * (0 + 1 + 2 + 3), call(h, "fx_for_each", 4, stub, ctx));
            assertEquals(List.of(0x1234L, 0x1234L, 0x1234L, 0x1234L), contexts);
        }
        java.lang.foreign.FunctionDescriptor desc =
                (java.lang.foreign.FunctionDescriptor) visit.getMethod("descriptor").invoke(null);
        assertEquals(ValueLayout.JAVA_INT, desc.returnLayout().orElseThrow());
        assertEquals(2, desc.argumentLayouts().size());
        assertInstanceOf(java.lang.foreign.AddressLayout.class, desc.argumentLayouts().get(0));
    }

    @Test
    void returnedStringIsReadable() throws Throwable {
        // C_POINTER carries an unbounded target layout, as in jextract, so the result reads directly.
        assertEquals("fixture-lib", ((MemorySegment) call(h, "fx_name")).getString(0));
    }

    @Test
    void structLayoutMatchesC() throws Throwable {
        String[] fields = {"tag", "count", "scale", "name", "small", "ratio", "big"};
        for (int i = 0; i < fields.length; i++) {
            assertEquals(call(h, "fx_mixed_offset", i), call(mixed, fields[i] + "$offset"), "offset of " + fields[i]);
        }
        assertEquals(call(h, "fx_mixed_size"), call(mixed, "sizeof"));
        assertEquals(8L, call(pair, "sizeof"));
    }

    @Test
    void structFieldsRoundTrip() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = (MemorySegment) call(mixed, "allocate", arena);
            call(h, "fx_fill_mixed", m);
            assertEquals((byte) 'x', call(mixed, "tag", m));
            assertEquals(7, call(mixed, "count", m));
            assertEquals(0.5, call(mixed, "scale", m));
            assertEquals("mixed", ((MemorySegment) call(mixed, "name", m)).getString(0));
            assertEquals((short) -12, call(mixed, "small", m));
            assertEquals(0.25f, call(mixed, "ratio", m));
            assertEquals(1L << 40, call(mixed, "big", m));

            // Written from Java, read by C: every setter must hit the C offset.
            call(mixed, "tag", m, (byte) 1);
            call(mixed, "count", m, 2);
            call(mixed, "scale", m, 0.125);
            call(mixed, "name", m, arena.allocateFrom("A"));
            call(mixed, "small", m, (short) 3);
            call(mixed, "ratio", m, 0.5f);
            call(mixed, "big", m, 1000L);
            assertEquals(1 + 2 + 0.125 + 3 + 0.5 + 1000 + 'A', (double) call(h, "fx_mixed_checksum", m));

            MemorySegment pairs = (MemorySegment) call(pair, "allocateArray", 3L, arena);
            MemorySegment second = (MemorySegment) call(pair, "asSlice", pairs, 1L);
            call(pair, "a", second, 20);
            call(pair, "b", second, 22);
            assertEquals(42, call(h, "fx_pair_sum", second));
            assertEquals(20, pairs.get(ValueLayout.JAVA_INT, 8));
        }
    }

    @Test
    void macrosEvaluateToTypedConstants() throws Throwable {
        assertEquals(42, call(h, "FX_INT"));
        assertEquals(-7, call(h, "FX_NEG"));
        assertEquals(1234567890123L, call(h, "FX_LONG"));
        assertEquals(18, call(h, "FX_EXPR"));
        assertEquals(36, call(h, "FX_REF"));
        assertEquals(-1, call(h, "FX_UNSIGNED"));
        assertEquals(1.5f, call(h, "FX_FLOAT"));
        assertEquals(2.25, call(h, "FX_DOUBLE"));
        assertEquals(4, call(h, "FX_MAX_DIMS"));
        assertEquals("fixture \"quoted\"", ((MemorySegment) call(h, "FX_STRING")).getString(0));
        assertEquals(-1L, ((MemorySegment) call(h, "FX_INVALID_HANDLE")).address());
        assertEquals(long.class, h.getMethod("FX_LONG").getReturnType());
        assertEquals(float.class, h.getMethod("FX_FLOAT").getReturnType());
    }

    @Test
    void nonConstantMacrosAreNotEmitted() {
        assertFalse(hasMethod(h, "FX_SQUARE"), "function-like macro emitted");
        assertFalse(hasMethod(h, "FX_EMPTY"), "empty macro emitted");
        assertFalse(hasMethod(h, "FIXTURE_H"), "include guard emitted");
        assertFalse(hasMethod(h, "size_t"), "declarations of system headers emitted");
    }

    @Test
    void accessorsInJextractShape() throws Throwable {
        assertInstanceOf(java.lang.invoke.MethodHandle.class, call(h, "fx_add$handle"));
        var desc = (java.lang.foreign.FunctionDescriptor) call(h, "fx_add$descriptor");
        assertEquals(List.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), desc.argumentLayouts());
        assertEquals(ValueLayout.JAVA_INT, desc.returnLayout().orElseThrow());
        assertNotEquals(MemorySegment.NULL, call(h, "fx_add$address"));
    }

    @Test
    void missingSymbolIsUnsatisfiedLinkErrorNamingIt() {
        UnsatisfiedLinkError e = assertThrows(UnsatisfiedLinkError.class, () -> call(h, "fx_missing"));
        assertTrue(e.getMessage().contains("fx_missing"), e.getMessage());
    }

    @Test
    void outputIsReproducibleAndMachineIndependent() throws Exception {
        Map<String, String> again = Main.generate(fixtureDir, Config.read(fixtureDir.resolve("fixture.conf")));
        assertEquals(sources, again);
        String header = sources.get("dev/stride/fixture/fixture_h.java");
        assertTrue(header.startsWith("// Generated by dev.stride.bindings.generator.Main from fixture 1.2."), header.lines().findFirst().orElse(""));
        String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(Files.readAllBytes(fixtureDir.resolve("fixture_types.h"))));
        assertTrue(header.contains("//   fixture_types.h  " + sha), "header hash missing");
        for (String text : sources.values()) {
            assertFalse(text.contains(fixtureDir.toString()), "absolute path in output");
            assertFalse(text.contains(tmp.toString()), "temp path in output");
            assertFalse(text.contains("\r"), "CR in output");
        }
        assertArrayEquals(new String[] {"dev/stride/fixture/fixture_h.java", "dev/stride/fixture/fx_mixed_t.java",
                "dev/stride/fixture/fx_pair.java", "dev/stride/fixture/fx_visit_fn.java"},
                sources.keySet().toArray(String[]::new));
    }
}
