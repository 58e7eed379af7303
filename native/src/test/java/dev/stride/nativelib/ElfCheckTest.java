package dev.stride.nativelib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.nativelib.DnnlLibrary.Loaded;
import dev.stride.nativelib.DnnlLibrary.Locator;
import dev.stride.nativelib.DnnlLibrary.Pinned;
import dev.stride.nativelib.DnnlLibrary.Source;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ELF check before dlopen: malformed headers in-process (the check is plain Java), truncated copies of the
 * real library through the whole Locator in a child JVM (if one reached the dynamic loader, it would crash).
 */
class ElfCheckTest {

    @TempDir
    Path tmp;

    private static Path realLibrary() {
        return Path.of(System.getProperty(DnnlLibrary.BUILD_DIR_PROPERTY)).resolve(DnnlLibrary.LIBDNNL);
    }

    /** The real library's first 64 KB with {@code edit} applied to its ELF header. */
    private Path edited(String name, Consumer<ByteBuffer> edit) throws IOException {
        byte[] head = new byte[64 * 1024];
        try (FileChannel ch = FileChannel.open(realLibrary(), StandardOpenOption.READ)) {
            ch.read(ByteBuffer.wrap(head), 0);
        }
        edit.accept(ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN));
        return Files.write(tmp.resolve(name), head);
    }

    private static String refusal(Path file) {
        return assertThrows(IOException.class, () -> ElfCheck.check(file)).getMessage();
    }

    @Test
    void theRealLibraryPasses() throws IOException {
        ElfCheck.check(realLibrary());
        ElfCheck.check(realLibrary().resolveSibling(DnnlLibrary.LIBGOMP));
    }

    @Test
    void malformedHeadersAreRefusedSayingWhy() throws IOException {
        assertTrue(refusal(Files.write(tmp.resolve("short"), new byte[] {0x7f, 'E', 'L', 'F'})).contains("4 bytes"));
        assertTrue(refusal(Files.writeString(tmp.resolve("text"), "x".repeat(100))).contains("no \\x7fELF magic"));
        assertTrue(refusal(edited("elf32", b -> b.put(4, (byte) 1))).contains("not a 64-bit ELF"));
        assertTrue(refusal(edited("be", b -> b.put(5, (byte) 2))).contains("not a little-endian"));
        assertTrue(refusal(edited("exec", b -> b.putShort(16, (short) 2))).contains("not a shared object (e_type 2"));
        assertTrue(refusal(edited("arm", b -> b.putShort(18, (short) 183))).contains("e_machine 183"));
        assertTrue(refusal(edited("phentsize", b -> b.putShort(54, (short) 32))).contains("program header table"));
        assertTrue(refusal(edited("phoff", b -> b.putLong(32, -8))).contains("the program header table spans"));
        String cut = refusal(edited("first64k", b -> { }));
        assertTrue(cut.contains("PT_LOAD segment 0 spans bytes [0, +") && cut.contains("the file has 65536 bytes"), cut);
    }

    // ---------------------------------------------------------------------------------------------- child JVM

    @Test
    void truncatedCopiesAreRefusedBeforeDlopenNamingThePath() throws Exception {
        Path lib = realLibrary();
        long size = Files.size(lib);
        long secondLoad;
        try (FileChannel ch = FileChannel.open(lib, StandardOpenOption.READ)) {
            ByteBuffer ph = ByteBuffer.allocate(56 * 2).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(ph, 64);
            assertEquals(1, ph.getInt(56), "the second program header is a PT_LOAD");
            secondLoad = ph.getLong(56 + 8);
        }
        long[] cuts = {40, 64 + 56 * 3 + 10, secondLoad + 40_000, size - 100};
        List<String> args = new ArrayList<>();
        for (long cut : cuts) {
            Path dir = Files.createDirectories(tmp.resolve("cut" + cut));
            Path copy = dir.resolve(DnnlLibrary.LIBDNNL);
            try (FileChannel in = FileChannel.open(lib, StandardOpenOption.READ);
                    FileChannel out = FileChannel.open(copy, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                for (long done = 0; done < cut; ) {
                    done += in.transferTo(done, cut - done, out);
                }
            }
            args.add(dir.toString());
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:ErrorFile=" + tmp.resolve("hs_err_%p.log"),
                "-cp", System.getProperty("java.class.path"), ElfCheckTest.class.getName(), lib.getParent().toString()));
        cmd.addAll(args);
        Path log = tmp.resolve("child.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child timed out");
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "child failed or crashed:\n" + out);
        for (String dir : args) {
            Path copy = Path.of(dir).resolve(DnnlLibrary.LIBDNNL).toAbsolutePath();
            assertTrue(out.contains("REFUSED " + dir + ": ") && out.contains(copy + " is not loadable"), out);
        }
        assertTrue(out.contains("REFUSED " + args.get(0) + ": ") && out.contains("shorter than the 64-byte"), out);
        assertTrue(out.contains("the program header table spans"), out);
        assertTrue(out.contains("PT_LOAD segment 1 spans"), out);
        assertTrue(out.contains("the section header table spans"), out);
        assertTrue(out.contains("LOADED the real library"), out);
    }

    /** The child: tries each truncated copy as an override, then the real library; prints what happened. */
    public static void main(String[] args) {
        for (int i = 1; i < args.length; i++) {
            Properties props = new Properties();
            props.setProperty(DnnlLibrary.PATH_PROPERTY, args[i]);
            try {
                new Locator(Pinned.read(), props, Map.of()).locateAndLoad();
                System.out.println("LOADED a truncated copy " + args[i]);
                System.exit(1);
            } catch (DnnlLoadException e) {
                System.out.println("REFUSED " + args[i] + ": " + e.getMessage().replace('\n', ' '));
            }
        }
        Properties props = new Properties();
        props.setProperty(DnnlLibrary.PATH_PROPERTY, args[0]);
        Loaded l = new Locator(Pinned.read(), props, Map.of()).locateAndLoad();
        assertEquals(Source.OVERRIDE, l.source());
        assertFalse(l.lookup().find("dnnl_engine_create").isEmpty());
        System.out.println("LOADED the real library");
    }
}
