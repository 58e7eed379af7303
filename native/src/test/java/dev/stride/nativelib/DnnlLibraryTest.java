package dev.stride.nativelib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.nativelib.DnnlLibrary.Loaded;
import dev.stride.nativelib.DnnlLibrary.Locator;
import dev.stride.nativelib.DnnlLibrary.Pinned;
import dev.stride.nativelib.DnnlLibrary.Source;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DnnlLibraryTest {

    @TempDir
    Path tmp;

    private static Path buildDir() {
        String dir = System.getProperty(DnnlLibrary.BUILD_DIR_PROPERTY);
        assertNotNull(dir, "Surefire must pass -D" + DnnlLibrary.BUILD_DIR_PROPERTY);
        return Path.of(dir);
    }

    private Properties props(String... kv) {
        Properties p = new Properties();
        p.setProperty("user.home", tmp.resolve("home").toString());
        for (int i = 0; i < kv.length; i += 2) {
            p.setProperty(kv[i], kv[i + 1]);
        }
        return p;
    }

    @Test
    void loadsTheBuildCopyAndFindsSymbols() {
        Loaded l = DnnlLibrary.load();
        assertEquals(Source.BUILD_DIR, l.source());
        assertTrue(l.lookup().find("dnnl_get_effective_cpu_isa").isPresent());
        assertEquals("3.13", DnnlLibrary.shippedVersion());
    }

    @Test
    void wrongOverridePathIsAClearErrorAndNothingElseIsTried() {
        Path missing = tmp.resolve("nope/libdnnl.so.3");
        Locator locator = new Locator(Pinned.read(), props(DnnlLibrary.PATH_PROPERTY, missing.toString(),
                DnnlLibrary.BUILD_DIR_PROPERTY, buildDir().toString()), Map.of());
        DnnlLoadException e = assertThrows(DnnlLoadException.class, locator::locateAndLoad);
        assertTrue(e.getMessage().contains("system property stride.dnnl.path = " + missing), e.getMessage());
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        assertTrue(!e.getMessage().contains("build copy"), "an explicit override must not fall back: " + e.getMessage());
    }

    @Test
    void overrideThatIsNotALibraryIsRefusedBeforeDlopen() throws Exception {
        Path bogus = Files.writeString(tmp.resolve("libdnnl.so.3"), "not an ELF file");
        Locator locator = new Locator(Pinned.read(), props(), Map.of(DnnlLibrary.PATH_ENV, tmp.toString()));
        DnnlLoadException e = assertThrows(DnnlLoadException.class, locator::locateAndLoad);
        assertTrue(e.getMessage().contains("environment variable STRIDE_DNNL_PATH = " + tmp), e.getMessage());
        assertTrue(e.getMessage().contains(bogus.toAbsolutePath() + " is not loadable: not an ELF shared object"),
                e.getMessage());
        assertTrue(Files.exists(bogus));
    }

    @Test
    void overrideDirectoryIsLoaded() {
        Locator locator = new Locator(Pinned.read(), props(DnnlLibrary.PATH_PROPERTY, buildDir().toString()), Map.of());
        Loaded l = locator.locateAndLoad();
        assertEquals(Source.OVERRIDE, l.source());
        assertEquals(buildDir().resolve("libdnnl.so.3").toAbsolutePath(), l.path());
    }

    @Test
    void corruptedBuildCopyFallsBackToTheVerifiedCache() throws Exception {
        Path fakeBuild = Files.createDirectories(tmp.resolve("build"));
        Files.writeString(fakeBuild.resolve("libdnnl.so.3"), "truncated");
        Files.copy(buildDir().resolve("libgomp.so.1"), fakeBuild.resolve("libgomp.so.1"));
        Path cache = tmp.resolve("cache");
        Locator locator = new Locator(Pinned.read(),
                props(DnnlLibrary.BUILD_DIR_PROPERTY, fakeBuild.toString(), DnnlLibrary.CACHE_DIR_PROPERTY, cache.toString()),
                Map.of());
        Loaded l = locator.locateAndLoad();
        assertEquals(Source.CACHE, l.source());
        assertTrue(l.path().startsWith(cache.toAbsolutePath()), l.path().toString());
    }

    @Test
    void cacheIsExtractedOnceVerifiedAndRepairedWhenTampered() throws Exception {
        Pinned pinned = Pinned.read();
        Path cacheRoot = tmp.resolve("cache");
        Locator locator = new Locator(pinned, props(DnnlLibrary.CACHE_DIR_PROPERTY, cacheRoot.toString()), Map.of());
        Path dir = cacheRoot.resolve(pinned.cacheFolderName());
        locator.ensureCached(dir);
        Path lib = dir.resolve("libdnnl.so.3");
        assertEquals(pinned.sha256().get("libdnnl.so.3"), DnnlLibrary.sha256(lib));
        assertEquals(pinned.sha256().get("libgomp.so.1"), DnnlLibrary.sha256(dir.resolve("libgomp.so.1")));

        // A second start reuses the verified file rather than rewriting it.
        FileTime old = FileTime.fromMillis(1_000_000L);
        Files.setLastModifiedTime(lib, old);
        locator.ensureCached(dir);
        assertEquals(old, Files.getLastModifiedTime(lib));

        // Flip one byte in the middle: detected and replaced.
        try (RandomAccessFile f = new RandomAccessFile(lib.toFile(), "rw")) {
            long pos = f.length() / 2;
            f.seek(pos);
            int b = f.read();
            f.seek(pos);
            f.write(b ^ 0xFF);
        }
        locator.ensureCached(dir);
        assertEquals(pinned.sha256().get("libdnnl.so.3"), DnnlLibrary.sha256(lib));

        // Truncation too.
        try (RandomAccessFile f = new RandomAccessFile(lib.toFile(), "rw")) {
            f.setLength(4096);
        }
        Loaded l = new Locator(pinned, props(DnnlLibrary.CACHE_DIR_PROPERTY, cacheRoot.toString()), Map.of()).locateAndLoad();
        assertEquals(Source.CACHE, l.source());
        assertEquals(pinned.sha256().get("libdnnl.so.3"), DnnlLibrary.sha256(lib));
        try (var files = Files.list(dir)) {
            assertEquals(List.of("libdnnl.so.3", "libgomp.so.1"), files.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no temporary files may be left behind");
        }
    }

    @Test
    void concurrentStartsAgreeOnOneIntactCopy() throws Exception {
        Pinned pinned = Pinned.read();
        Path cacheRoot = tmp.resolve("race");
        Path dir = cacheRoot.resolve(pinned.cacheFolderName());
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            List<Future<Void>> futures = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Callable<Void> start = () -> {
                    new Locator(pinned, props(DnnlLibrary.CACHE_DIR_PROPERTY, cacheRoot.toString()), Map.of()).ensureCached(dir);
                    return null;
                };
                futures.add(pool.submit(start));
            }
            for (Future<Void> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        assertEquals(pinned.sha256().get("libdnnl.so.3"), DnnlLibrary.sha256(dir.resolve("libdnnl.so.3")));
    }

    @Test
    void missingEverythingListsEveryLocationTried() {
        Pinned real = Pinned.read();
        Pinned absent = new Pinned(real.version(), real.carrier(), "no/such/resource/dir", real.sha256());
        Path cacheRoot = tmp.resolve("empty-cache");
        Locator locator = new Locator(absent, props(DnnlLibrary.BUILD_DIR_PROPERTY, tmp.resolve("nobuild").toString(),
                DnnlLibrary.CACHE_DIR_PROPERTY, cacheRoot.toString()), Map.of());
        DnnlLoadException e = assertThrows(DnnlLoadException.class, locator::locateAndLoad);
        String m = e.getMessage();
        assertTrue(m.contains("build copy (stride.dnnl.buildDir) " + tmp.resolve("nobuild") + ": no libdnnl.so.3 there"), m);
        assertTrue(m.contains("classpath resource no/such/resource/dir"), m);
        assertTrue(m.contains("not on the class path"), m);
    }
}
