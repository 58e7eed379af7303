package dev.stride.nativelib;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds, verifies and loads oneDNN ({@code libdnnl.so.3} and the OpenMP runtime beside it), once per JVM.
 *
 * <p>Locations, in order:
 * <ol>
 *   <li>an explicit override: system property {@value #PATH_PROPERTY} or environment variable
 *       {@value #PATH_ENV}, naming a {@code libdnnl.so.3} or a directory holding one. When an override is
 *       given, nothing else is tried: a wrong override is an error, never silently replaced;</li>
 *   <li>the copy the build unpacked for tests (system property {@value #BUILD_DIR_PROPERTY}), verified
 *       against the pinned SHA-256;</li>
 *   <li>the classpath resource (the {@code org.bytedeco:dnnl:linux-x86_64} jar), extracted once into a
 *       per-version cache directory ({@value #CACHE_DIR_PROPERTY} / {@value #CACHE_DIR_ENV}, else
 *       {@code $XDG_CACHE_HOME/stride} or {@code ~/.cache/stride}). Extraction writes a temporary file and
 *       renames it, so JVMs starting together never see a half-written library; every load re-hashes the
 *       cached files and replaces a corrupted or tampered one.</li>
 * </ol>
 *
 * <p>Before {@code dlopen}, every candidate (and the {@code libgomp.so.1} beside it) must be a whole x86-64 ELF
 * shared object: a truncated file would crash the dynamic loader, so it is refused with the path instead. The
 * api module then checks the version and that every function the generated bindings call is exported
 * ({@link Loaded#missingSymbols}), so a wrong library fails at load with its path, not at some later call.
 *
 * <p>The library is loaded into {@link Arena#global()}: it is never unloaded while its OpenMP threads live.
 * This class only ships and loads; the knobs that call into oneDNN live in the api module.
 */
public final class DnnlLibrary {

    /** System property naming a {@code libdnnl.so.3} (or its directory) to use instead of the shipped one. */
    public static final String PATH_PROPERTY = "stride.dnnl.path";
    /** Environment variable with the same meaning as {@link #PATH_PROPERTY} (the property wins). */
    public static final String PATH_ENV = "STRIDE_DNNL_PATH";
    /** System property naming the directory where the build unpacked the carrier jar (set by Surefire). */
    public static final String BUILD_DIR_PROPERTY = "stride.dnnl.buildDir";
    /** System property overriding the cache root. */
    public static final String CACHE_DIR_PROPERTY = "stride.cache.dir";
    /** Environment variable overriding the cache root. */
    public static final String CACHE_DIR_ENV = "STRIDE_CACHE_DIR";

    static final String LIBDNNL = "libdnnl.so.3";
    static final String LIBGOMP = "libgomp.so.1";
    private static final Logger LOG = LoggerFactory.getLogger(DnnlLibrary.class);

    /** Where the loaded library came from. */
    public enum Source { OVERRIDE, BUILD_DIR, CACHE }

    /** What was loaded: the file, where it was found and the pinned version it claims to be. */
    public record Loaded(Path path, Source source, String shippedVersion, SymbolLookup lookup) {
        /** The names in {@code symbols} this library (with its dependencies) does not export, in order. */
        public List<String> missingSymbols(Collection<String> symbols) {
            List<String> missing = new ArrayList<>();
            for (String s : symbols) {
                if (lookup.find(s).isEmpty()) {
                    missing.add(s);
                }
            }
            return missing;
        }
    }

    private static volatile Loaded loaded;

    private DnnlLibrary() {}

    /** The symbol lookup of the loaded oneDNN (loading it on first use). */
    public static SymbolLookup symbolLookup() {
        return load().lookup();
    }

    /** Loads oneDNN if it is not loaded yet; thread-safe, idempotent. */
    public static Loaded load() {
        Loaded l = loaded;
        if (l == null) {
            synchronized (DnnlLibrary.class) {
                l = loaded;
                if (l == null) {
                    l = new Locator(Pinned.read(), System.getProperties(), System.getenv()).locateAndLoad();
                    loaded = l;
                    LOG.info("oneDNN loaded from {} ({})", l.path(), l.source());
                }
            }
        }
        return l;
    }

    /** The oneDNN version the classpath carrier is pinned to, e.g. {@code 3.13}. */
    public static String shippedVersion() {
        return Pinned.read().version();
    }

    /** The pinned build: version, resource folder and the SHA-256 of every shipped file. */
    record Pinned(String version, String carrier, String resourceDir, Map<String, String> sha256) {
        static Pinned read() {
            Properties p = new Properties();
            try (InputStream in = DnnlLibrary.class.getResourceAsStream("dnnl-natives.properties")) {
                if (in == null) {
                    throw new IllegalStateException("dnnl-natives.properties missing from stride-native");
                }
                p.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return new Pinned(p.getProperty("version"), p.getProperty("carrier"), p.getProperty("resourceDir"),
                    Map.of(LIBDNNL, p.getProperty(LIBDNNL + ".sha256"), LIBGOMP, p.getProperty(LIBGOMP + ".sha256")));
        }

        /** The cache folder's name: version plus a short hash, so two builds never share a folder. */
        String cacheFolderName() {
            return "dnnl-" + version + "-" + sha256.get(LIBDNNL).substring(0, 12);
        }
    }

    /** The search itself, separated from the JVM-wide state so tests can drive it with their own settings. */
    static final class Locator {
        private final Pinned pinned;
        private final Properties props;
        private final Map<String, String> env;
        private final List<String> tried = new ArrayList<>();

        Locator(Pinned pinned, Properties props, Map<String, String> env) {
            this.pinned = pinned;
            this.props = props;
            this.env = env;
        }

        Loaded locateAndLoad() {
            String override = props.getProperty(PATH_PROPERTY);
            String overrideFrom = "system property " + PATH_PROPERTY;
            if (override == null || override.isBlank()) {
                override = env.get(PATH_ENV);
                overrideFrom = "environment variable " + PATH_ENV;
            }
            if (override != null && !override.isBlank()) {
                Path p = Path.of(override);
                Path lib = Files.isDirectory(p) ? p.resolve(LIBDNNL) : p;
                String where = overrideFrom + " = " + override;
                if (!Files.isRegularFile(lib)) {
                    fail(where, "no such file: " + lib.toAbsolutePath());
                    throw failure("the override names no oneDNN library; fix or unset it");
                }
                Loaded l = tryLoad(lib, Source.OVERRIDE, where);
                if (l == null) {
                    throw failure("the override could not be loaded; fix or unset it");
                }
                return l;
            }

            String buildDir = props.getProperty(BUILD_DIR_PROPERTY);
            if (buildDir != null && !buildDir.isBlank()) {
                Path dir = Path.of(buildDir);
                String where = "build copy (" + BUILD_DIR_PROPERTY + ") " + dir;
                String bad = verifyFolder(dir);
                if (bad != null) {
                    fail(where, bad);
                } else {
                    Loaded l = tryLoad(dir.resolve(LIBDNNL), Source.BUILD_DIR, where);
                    if (l != null) {
                        return l;
                    }
                }
            }

            Path cacheDir = cacheRoot().resolve(pinned.cacheFolderName());
            String where = "classpath resource " + pinned.resourceDir() + " cached in " + cacheDir;
            try {
                ensureCached(cacheDir);
                Loaded l = tryLoad(cacheDir.resolve(LIBDNNL), Source.CACHE, where);
                if (l != null) {
                    return l;
                }
            } catch (IOException | RuntimeException e) {
                fail(where, e.toString());
            }
            throw failure("no usable oneDNN found; put " + pinned.carrier() + " on the class path or set "
                    + PATH_PROPERTY + " / " + PATH_ENV);
        }

        Path cacheRoot() {
            String dir = props.getProperty(CACHE_DIR_PROPERTY);
            if (dir == null || dir.isBlank()) {
                dir = env.get(CACHE_DIR_ENV);
            }
            if (dir != null && !dir.isBlank()) {
                return Path.of(dir);
            }
            String xdg = env.get("XDG_CACHE_HOME");
            Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg)
                    : Path.of(props.getProperty("user.home", ".")).resolve(".cache");
            return base.resolve("stride");
        }

        /** Makes sure every shipped file sits in {@code cacheDir} with its pinned hash. */
        void ensureCached(Path cacheDir) throws IOException {
            Files.createDirectories(cacheDir);
            for (String name : List.of(LIBGOMP, LIBDNNL)) {
                Path target = cacheDir.resolve(name);
                String expected = pinned.sha256().get(name);
                if (Files.isRegularFile(target)) {
                    String actual = sha256(target);
                    if (actual.equals(expected)) {
                        continue;
                    }
                    LOG.warn("cached {} is corrupted or was tampered with (sha256 {}, expected {}); replacing it",
                            target, actual, expected);
                }
                extract(name, target, expected);
            }
        }

        /** Copies a classpath resource to a temporary file in the same folder, checks it, then renames it. */
        private void extract(String name, Path target, String expected) throws IOException {
            String resource = pinned.resourceDir() + "/" + name;
            ClassLoader cl = Objects.requireNonNullElse(Thread.currentThread().getContextClassLoader(),
                    DnnlLibrary.class.getClassLoader());
            try (InputStream raw = cl.getResourceAsStream(resource)) {
                if (raw == null) {
                    throw new IOException("resource " + resource + " not on the class path (is "
                            + pinned.carrier() + " a dependency?)");
                }
                Path tmp = Files.createTempFile(target.getParent(), name + ".", ".tmp");
                try {
                    MessageDigest md = sha256Digest();
                    try (DigestInputStream in = new DigestInputStream(raw, md)) {
                        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    }
                    String actual = HexFormat.of().formatHex(md.digest());
                    if (!actual.equals(expected)) {
                        throw new IOException("classpath resource " + resource + " has sha256 " + actual
                                + ", expected " + expected + " (a different or damaged carrier jar)");
                    }
                    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                        ch.force(true);
                    }
                    try {
                        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    } catch (AtomicMoveNotSupportedException e) {
                        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                    }
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
        }

        /** Null when both shipped files are present with their pinned hashes, else what is wrong. */
        private String verifyFolder(Path dir) {
            for (String name : List.of(LIBDNNL, LIBGOMP)) {
                Path f = dir.resolve(name);
                if (!Files.isRegularFile(f)) {
                    return "no " + name + " there";
                }
                try {
                    String actual = sha256(f);
                    if (!actual.equals(pinned.sha256().get(name))) {
                        return name + " has sha256 " + actual + ", expected " + pinned.sha256().get(name);
                    }
                } catch (IOException e) {
                    return "cannot read " + f + ": " + e;
                }
            }
            return null;
        }

        private Loaded tryLoad(Path lib, Source source, String where) {
            // dlopen trusts the ELF headers; a truncated library crashes the loader, so check them first.
            for (Path f : List.of(lib, lib.resolveSibling(LIBGOMP))) {
                if (f == lib || Files.isRegularFile(f)) {
                    try {
                        ElfCheck.check(f);
                    } catch (IOException e) {
                        fail(where, f.toAbsolutePath() + " is not loadable: " + e.getMessage());
                        return null;
                    }
                }
            }
            try {
                SymbolLookup lookup = SymbolLookup.libraryLookup(lib, Arena.global());
                if (lookup.find("dnnl_engine_create").isEmpty()) {
                    fail(where, lib + " loaded but has no dnnl_engine_create: not oneDNN 3.x");
                    return null;
                }
                return new Loaded(lib.toAbsolutePath(), source, pinned.version(), lookup);
            } catch (IllegalArgumentException | IllegalCallerException e) {
                fail(where, "dlopen failed: " + e.getMessage());
                return null;
            }
        }

        private void fail(String where, String why) {
            tried.add(where + ": " + why);
        }

        private DnnlLoadException failure(String summary) {
            StringBuilder sb = new StringBuilder("Cannot load oneDNN: ").append(summary).append(". Tried:");
            for (String t : tried) {
                sb.append("\n  - ").append(t);
            }
            return new DnnlLoadException(sb.toString());
        }
    }

    static String sha256(Path file) throws IOException {
        MessageDigest md = sha256Digest();
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), md)) {
            in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
