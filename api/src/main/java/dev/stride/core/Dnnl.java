package dev.stride.core;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.bindings.dnnl.dnnl_version_t;
import dev.stride.nativelib.DnnlLibrary;
import java.lang.foreign.MemorySegment;
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
            DnnlLibrary.load();
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
        DnnlLibrary.Loaded lib = DnnlLibrary.load();
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
        DnnlLibrary.load();
        return CpuIsa.fromValue(dnnl_h.dnnl_get_effective_cpu_isa());
    }

    /**
     * Caps the instruction set oneDNN may use. Only effective before the first primitive is created (oneDNN's
     * rule); afterwards oneDNN refuses and this throws.
     */
    public static void setMaxCpuIsa(CpuIsa isa) {
        DnnlLibrary.load();
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
        DnnlLibrary.load();
        check(dnnl_h.dnnl_set_verbose(l), "set verbose level " + l);
    }

    /** Number of threads oneDNN's OpenMP runtime uses for the next primitives executed from this thread. */
    public static int threads() {
        DnnlLibrary.load();
        return Omp.maxThreads();
    }

    /** Sets the OpenMP thread count oneDNN runs with (1 for tiny ops that only pay the fork/join). */
    public static void setThreads(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        DnnlLibrary.load();
        Omp.setThreads(threads);
    }
}
