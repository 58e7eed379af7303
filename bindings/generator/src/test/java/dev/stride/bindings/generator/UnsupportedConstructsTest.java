package dev.stride.bindings.generator;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What the generator cannot bind faithfully must stop it, naming the symbol, unless excluded. */
class UnsupportedConstructsTest {

    @TempDir
    Path dir;

    private Map<String, String> generate(String header, String extraConfig) throws IOException {
        Files.writeString(dir.resolve("bad.h"), "#include <stdint.h>\nint fx_ok(int a);\n" + header + "\n");
        Files.writeString(dir.resolve("bad.conf"), """
                package = dev.stride.bad
                header-class = bad_h
                symbol-lookup = java.lang.foreign.SymbolLookup.loaderLookup()
                library-name = bad
                root = bad.h
                """ + extraConfig);
        return Main.generate(dir, Config.read(dir.resolve("bad.conf")));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            fx_log      | int fx_log(const char *fmt, ...);                               | variadic
            fx_take     | struct fx_p { int a; }; int fx_take(struct fx_p p);             | by value
            fx_give     | struct fx_q { int a; }; struct fx_q fx_give(void);              | by value
            fx_on       | int fx_on(void (*cb)(int));                                     | without a typedef
            fx_cbv      | typedef void (*fx_cbv)(int, ...);                               | variadic callback
            fx_old      | int fx_old();                                                   | prototype
            fx_u        | typedef union { int i; float f; } fx_u;                         | union
            fx_bits     | struct fx_bits { int a : 3; int b : 5; };                       | bit-field
            fx_packed   | struct __attribute__((packed)) fx_packed { char c; int i; };     | aligned
            fx_ld       | long double fx_ld(void);                                        | long double
            fx_global   | extern int fx_global;                                           | variable
            FX_ATTR     | #define FX_ATTR __attribute__((unused))                         | not a constant
            FX_CALL     | #define FX_CALL fx_ok(1)                                        | not a constant
            """)
    void rejectedNamingSymbolAndLocation(String symbol, String declaration, String reason) {
        GeneratorException e = assertThrows(GeneratorException.class, () -> generate(declaration, ""));
        String msg = e.getMessage();
        assertTrue(msg.contains("bad.h:3: " + symbol + ":"), msg);
        assertTrue(msg.contains(reason), msg);
        assertFalse(msg.contains("fx_ok"), "the supported function is reported too: " + msg);
    }

    @Test
    void excludeLetsASymbolThrough() throws IOException {
        Map<String, String> out = generate("int fx_log(const char *fmt, ...);",
                "exclude = fx_log: printf-style, callers format in Java\n");
        String h = out.get("dev/stride/bad/bad_h.java");
        assertTrue(h.contains("public static int fx_ok(int a)"), h);
        assertFalse(h.contains("fx_log"), h);
    }

    @Test
    void staleExcludeIsAnError() {
        GeneratorException e = assertThrows(GeneratorException.class,
                () -> generate("", "exclude = fx_gone: removed upstream\n"));
        assertTrue(e.getMessage().contains("fx_gone"), e.getMessage());
    }

    @Test
    void unlistedHeaderBesideTheRootsIsAnError() throws IOException {
        Files.writeString(dir.resolve("extra.h"), "int fx_extra(void);\n");
        GeneratorException e = assertThrows(GeneratorException.class, () -> generate("#include \"extra.h\"", ""));
        assertTrue(e.getMessage().contains("extra.h") && e.getMessage().contains("ignore-header"), e.getMessage());
        Map<String, String> ignored = generate("#include \"extra.h\"", "ignore-header = extra.h\n");
        assertFalse(ignored.get("dev/stride/bad/bad_h.java").contains("fx_extra"));
        Map<String, String> bound = generate("#include \"extra.h\"", "header = extra.h\n");
        assertTrue(bound.get("dev/stride/bad/bad_h.java").contains("public static int fx_extra()"));
    }

    @Test
    void headerErrorsStopTheGenerator() {
        GeneratorException e = assertThrows(GeneratorException.class, () -> generate("int fx_broken(unknown_t x);", ""));
        assertTrue(e.getMessage().contains("unknown_t"), e.getMessage());
    }

    @Test
    void configErrorsNameTheLine() throws IOException {
        Files.writeString(dir.resolve("x.conf"), "package = a\nbogus = 1\n");
        GeneratorException e = assertThrows(GeneratorException.class, () -> Config.read(dir.resolve("x.conf")));
        assertTrue(e.getMessage().contains("x.conf:2") && e.getMessage().contains("bogus"), e.getMessage());
    }
}
