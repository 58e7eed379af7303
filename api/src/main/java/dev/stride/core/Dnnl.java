package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.bindings.dnnl.dnnl_version_t;
import dev.stride.bindings.omp.omp_h;
import dev.stride.nativelib.DnnlLibrary;
import dev.stride.nativelib.DnnlLoadException;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process-wide oneDNN runtime: status checking, version and ISA information, and the knobs a user sets
 * (maximum CPU ISA, verbose mode, thread count). The knobs are read once from system properties
 * ({@code stride.maxIsa}, {@code stride.verbose}, {@code stride.threads}) or set from code before the first
 * primitive is created.
 *
 * <p>Thread-safe; the thread count ({@link #setThreads}) is OpenMP's setting for the calling thread, so each
 * thread that runs primitives sets its own.
 */
public final class Dnnl {

    private static final Logger LOG = LoggerFactory.getLogger(Dnnl.class);
    private static volatile boolean initialised;

    private Dnnl() {}

    /** What is loaded and how it runs. */
    public record Info(String version, String commitHash, String cpuRuntime, CpuIsa effectiveIsa, int threads,
            String libraryPath, String librarySource) {
        @Override
        public String toString() {
            return "oneDNN " + version + " (" + commitHash + "), CPU runtime " + cpuRuntime + ", ISA "
                    + effectiveIsa.label() + ", " + threads + " thread(s), loaded from " + libraryPath + " ("
                    + librarySource + ")";
        }
    }

    /**
     * Loads oneDNN (once), applies the knobs given as system properties and logs what was loaded. Called by
     * every entry point that touches oneDNN; cheap after the first call.
     */
    public static void init() {
        if (initialised) {
            return;
        }
        synchronized (Dnnl.class) {
            if (initialised) {
                return;
            }
            loadVerified();
            String isa = System.getProperty("stride.maxIsa");
            if (isa != null && !isa.isBlank()) {
                setMaxCpuIsa(CpuIsa.parse(isa));
            }
            String verbose = System.getProperty("stride.verbose");
            if (verbose != null && !verbose.isBlank()) {
                setVerbose(verbose);
            }
            String threads = System.getProperty("stride.threads");
            if (threads != null && !threads.isBlank()) {
                try {
                    setThreads(Integer.parseInt(threads.trim()));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("stride.threads must be a positive integer, got '" + threads + "'");
                }
            }
            initialised = true;
            LOG.info("{}", info());
        }
    }

    /**
     * Loads oneDNN (once) and, the first time, checks that it is what the generated bindings were made for:
     * oneDNN {@value #REQUIRED_MAJOR}.x, exporting every function {@link dnnl_h} and {@link omp_h} bind. A wrong
     * library (an older oneDNN given as an override, a build without OpenMP) then fails here, naming its path,
     * the version found and the missing functions, instead of at whichever call first needs one.
     */
    static DnnlLibrary.Loaded loadVerified() {
        DnnlLibrary.Loaded lib = DnnlLibrary.load();
        if (!verified) {
            synchronized (Dnnl.class) {
                if (!verified) {
                    verify(lib);
                    verified = true;
                }
            }
        }
        return lib;
    }

    private static final int REQUIRED_MAJOR = 3;
    private static volatile boolean verified;

    private static void verify(DnnlLibrary.Loaded lib) {
        List<String> symbols = new ArrayList<>(boundFunctions(dnnl_h.class));
        symbols.addAll(boundFunctions(omp_h.class));
        List<String> missing = lib.missingSymbols(symbols);
        String version = null;
        boolean versionOk = false;
        if (!missing.contains("dnnl_version")) {
            MemorySegment v = dnnl_h.dnnl_version();
            if (!v.equals(MemorySegment.NULL)) {
                v = v.reinterpret(dnnl_version_t.sizeof());
                version = dnnl_version_t.major(v) + "." + dnnl_version_t.minor(v) + "." + dnnl_version_t.patch(v);
                versionOk = dnnl_version_t.major(v) == REQUIRED_MAJOR;
            }
        }
        if (versionOk && missing.isEmpty()) {
            return;
        }
        StringBuilder sb = new StringBuilder("Cannot use oneDNN from ").append(lib.path()).append(" (")
                .append(lib.source().name().toLowerCase(Locale.ROOT)).append("): ");
        sb.append(version == null ? "it reports no version (dnnl_version " + (missing.contains("dnnl_version")
                ? "is missing" : "returned NULL") + ")" : "it is oneDNN " + version);
        sb.append("; Stride's bindings were generated for oneDNN ").append(DnnlLibrary.shippedVersion())
                .append(" and need ").append(REQUIRED_MAJOR).append(".x");
        if (!missing.isEmpty()) {
            sb.append("; it lacks ").append(missing.size()).append(" of the ").append(symbols.size())
                    .append(" functions they call: ")
                    .append(String.join(", ", missing.subList(0, Math.min(missing.size(), 20))))
                    .append(missing.size() > 20 ? " and " + (missing.size() - 20) + " more" : "");
        }
        throw new DnnlLoadException(sb.append(". Fix or unset ").append(DnnlLibrary.PATH_PROPERTY).append(" / ")
                .append(DnnlLibrary.PATH_ENV).toString());
    }

    /**
     * The C functions a generated bindings class calls: the generator gives each one a static
     * {@code name$address()} accessor, so the list comes from the generated code, not from a hand-kept copy.
     */
    private static List<String> boundFunctions(Class<?> bindings) {
        List<String> names = new ArrayList<>();
        for (Method m : bindings.getDeclaredMethods()) {
            if (m.getName().endsWith("$address") && m.getParameterCount() == 0 && Modifier.isStatic(m.getModifiers())
                    && m.getReturnType() == MemorySegment.class) {
                names.add(m.getName().substring(0, m.getName().length() - "$address".length()));
            }
        }
        names.sort(null);
        return names;
    }

    /** Throws {@link DnnlException} unless {@code status} is {@code dnnl_success}. */
    public static void check(int status, String operation) {
        if (status != 0) {
            throw new DnnlException(status, statusName(status), operation);
        }
    }

    /** The status name as oneDNN spells it ({@code dnnl_status2str}), e.g. {@code invalid_arguments}. */
    public static String statusName(int status) {
        MemorySegment s = dnnl_h.dnnl_status2str(status);
        return s.equals(MemorySegment.NULL) ? "status " + status : s.reinterpret(256).getString(0);
    }

    /** Version, runtime, ISA, threads and library location. */
    public static Info info() {
        DnnlLibrary.Loaded lib = loadVerified();
        MemorySegment v = dnnl_h.dnnl_version().reinterpret(dnnl_version_t.sizeof());
        String version = dnnl_version_t.major(v) + "." + dnnl_version_t.minor(v) + "." + dnnl_version_t.patch(v);
        MemorySegment hash = dnnl_version_t.hash(v);
        String commit = hash.equals(MemorySegment.NULL) ? "unknown" : hash.reinterpret(128).getString(0);
        return new Info(version, commit, runtimeName(dnnl_version_t.cpu_runtime(v)), effectiveIsa(), threads(),
                lib.path().toString(), lib.source().name().toLowerCase(Locale.ROOT));
    }

    private static String runtimeName(int runtime) {
        if (runtime == dnnl_h.DNNL_RUNTIME_OMP()) {
            return "OpenMP";
        } else if (runtime == dnnl_h.DNNL_RUNTIME_SEQ()) {
            return "sequential";
        } else if (runtime == dnnl_h.DNNL_RUNTIME_TBB()) {
            return "TBB";
        } else if (runtime == dnnl_h.DNNL_RUNTIME_THREADPOOL()) {
            return "threadpool";
        }
        return "runtime " + runtime;
    }

    /** The ISA oneDNN's JIT actually uses on this CPU (after any {@link #setMaxCpuIsa} limit). */
    public static CpuIsa effectiveIsa() {
        loadVerified();
        return CpuIsa.fromValue(dnnl_h.dnnl_get_effective_cpu_isa());
    }

    /**
     * Caps the instruction set oneDNN may use. Only effective before the first primitive is created (oneDNN's
     * rule); afterwards oneDNN refuses and this throws.
     */
    public static void setMaxCpuIsa(CpuIsa isa) {
        loadVerified();
        check(dnnl_h.dnnl_set_max_cpu_isa(isa.value()), "set max CPU ISA to " + isa.label()
                + " (must happen before the first primitive is created)");
    }

    /** oneDNN's verbose mode: {@code none}, {@code error}, {@code check}, {@code profile}, {@code all}, or 0/1/2. */
    public static void setVerbose(String level) {
        int l = switch (level.trim().toLowerCase(Locale.ROOT)) {
            case "none", "0" -> 0;
            case "1", "exec", "profile", "error", "check" -> 1;
            case "2", "all", "create" -> 2;
            default -> throw new IllegalArgumentException("verbose level must be none, profile, all or 0..2, got '"
                    + level + "'");
        };
        loadVerified();
        check(dnnl_h.dnnl_set_verbose(l), "set verbose level " + l);
    }

    /** Number of threads oneDNN's OpenMP runtime uses for the next primitives executed from this thread. */
    public static int threads() {
        loadVerified();
        return Omp.maxThreads();
    }

    /** Sets the OpenMP thread count oneDNN runs with (1 for tiny ops that only pay the fork/join). */
    public static void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        loadVerified();
        Omp.setThreads(threads);
    }
}
