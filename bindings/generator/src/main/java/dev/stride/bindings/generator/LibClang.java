package dev.stride.bindings.generator;

import java.io.IOException;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The slice of libclang's C API the generator needs, called through FFM. Hand-written on purpose:
 * the generator cannot use bindings it has not generated yet.
 *
 * <p>libclang passes and returns small structs by value ({@code CXCursor}, {@code CXType},
 * {@code CXString}, {@code CXSourceLocation}, {@code CXSourceRange}); FFM passes them as
 * {@link MemorySegment}s laid out as below, and struct-returning calls take a
 * {@link SegmentAllocator} first. Not thread-safe: one generator run at a time.
 */
final class LibClang {

    // Cursor kinds (clang-c/Index.h, enum CXCursorKind).
    static final int CURSOR_UNEXPOSED_DECL = 1;
    static final int CURSOR_STRUCT_DECL = 2;
    static final int CURSOR_UNION_DECL = 3;
    static final int CURSOR_ENUM_DECL = 5;
    static final int CURSOR_FIELD_DECL = 6;
    static final int CURSOR_ENUM_CONSTANT_DECL = 7;
    static final int CURSOR_FUNCTION_DECL = 8;
    static final int CURSOR_VAR_DECL = 9;
    static final int CURSOR_PARM_DECL = 10;
    static final int CURSOR_TYPEDEF_DECL = 20;
    static final int CURSOR_MACRO_DEFINITION = 501;
    static final int CURSOR_MACRO_EXPANSION = 502;
    static final int CURSOR_INCLUSION_DIRECTIVE = 503;

    // Type kinds (enum CXTypeKind).
    static final int TYPE_VOID = 2;
    static final int TYPE_BOOL = 3;
    static final int TYPE_CHAR_U = 4;
    static final int TYPE_UCHAR = 5;
    static final int TYPE_USHORT = 8;
    static final int TYPE_UINT = 9;
    static final int TYPE_ULONG = 10;
    static final int TYPE_ULONGLONG = 11;
    static final int TYPE_CHAR_S = 13;
    static final int TYPE_SCHAR = 14;
    static final int TYPE_SHORT = 16;
    static final int TYPE_INT = 17;
    static final int TYPE_LONG = 18;
    static final int TYPE_LONGLONG = 19;
    static final int TYPE_FLOAT = 21;
    static final int TYPE_DOUBLE = 22;
    static final int TYPE_POINTER = 101;
    static final int TYPE_RECORD = 105;
    static final int TYPE_ENUM = 106;
    static final int TYPE_TYPEDEF = 107;
    static final int TYPE_FUNCTION_NO_PROTO = 110;
    static final int TYPE_FUNCTION_PROTO = 111;
    static final int TYPE_CONSTANT_ARRAY = 112;
    static final int TYPE_INCOMPLETE_ARRAY = 114;
    static final int TYPE_ELABORATED = 119;

    // enum CXEvalResultKind.
    static final int EVAL_INT = 1;
    static final int EVAL_FLOAT = 2;
    static final int EVAL_STR_LITERAL = 4;

    // enum CXLinkageKind.
    static final int LINKAGE_INTERNAL = 2;

    // enum CXDiagnosticSeverity.
    static final int DIAGNOSTIC_ERROR = 3;

    // enum CXTranslationUnit_Flags: keep #define records so macros show up as cursors.
    static final int TU_DETAILED_PREPROCESSING_RECORD = 0x01;

    static final StructLayout CX_STRING = MemoryLayout.structLayout(
            ADDRESS.withName("data"), JAVA_INT.withName("private_flags"), MemoryLayout.paddingLayout(4));
    static final StructLayout CX_CURSOR = MemoryLayout.structLayout(
            JAVA_INT.withName("kind"), JAVA_INT.withName("xdata"),
            MemoryLayout.sequenceLayout(3, ADDRESS).withName("data"));
    static final StructLayout CX_TYPE = MemoryLayout.structLayout(
            JAVA_INT.withName("kind"), MemoryLayout.paddingLayout(4),
            MemoryLayout.sequenceLayout(2, ADDRESS).withName("data"));
    static final StructLayout CX_SOURCE_LOCATION = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(2, ADDRESS).withName("ptr_data"),
            JAVA_INT.withName("int_data"), MemoryLayout.paddingLayout(4));
    static final StructLayout CX_SOURCE_RANGE = MemoryLayout.structLayout(
            MemoryLayout.sequenceLayout(2, ADDRESS).withName("ptr_data"),
            JAVA_INT.withName("begin_int_data"), JAVA_INT.withName("end_int_data"));
    static final StructLayout CX_UNSAVED_FILE = MemoryLayout.structLayout(
            ADDRESS.withName("Filename"), ADDRESS.withName("Contents"), JAVA_LONG.withName("Length"));

    private static final AddressLayout C_STRING =
            ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(Long.MAX_VALUE, ValueLayout.JAVA_BYTE));

    private final Linker linker = Linker.nativeLinker();
    private final SymbolLookup lookup;
    final Path libraryPath;

    private final MethodHandle createIndex, disposeIndex, parseTranslationUnit2, disposeTranslationUnit;
    private final MethodHandle getNumDiagnostics, getDiagnostic, getDiagnosticSeverity, formatDiagnostic,
            disposeDiagnostic, getDiagnosticLocation;
    private final MethodHandle getCString, disposeString, getClangVersion;
    private final MethodHandle getTranslationUnitCursor, visitChildren, getCursorKind, getCursorSpelling,
            getCursorType, getCursorResultType, getCursorLocation, getCursorExtent, getCursorLinkage,
            isCursorDefinition, cursorIsAnonymous, cursorIsBitField, cursorIsMacroFunctionLike,
            cursorGetNumArguments, cursorGetArgument, getEnumConstantDeclValue, getEnumDeclIntegerType,
            getTypedefDeclUnderlyingType, getTypeDeclaration, equalCursors;
    private final MethodHandle getCanonicalType, getTypeSpelling, getPointeeType, getResultType, isFunctionTypeVariadic,
            typeGetSizeOf, typeGetAlignOf, typeGetOffsetOf;
    private final MethodHandle getFileLocation, getFileName, tokenize, disposeTokens;
    private final MethodHandle cursorEvaluate, evalGetKind, evalGetAsLongLong, evalIsUnsignedInt,
            evalGetAsUnsigned, evalGetAsDouble, evalGetAsStr, evalDispose;

    // clang_visitChildren calls back into Java; one stub serves every visit, filling `sink`.
    private final MemorySegment visitorStub;
    private List<MemorySegment> sink;
    private SegmentAllocator sinkAllocator;

    private LibClang(Path libraryPath) {
        this.libraryPath = libraryPath;
        this.lookup = SymbolLookup.libraryLookup(libraryPath, Arena.global());
        disableCrashRecovery();

        createIndex = fn("clang_createIndex", FunctionDescriptor.of(ADDRESS, JAVA_INT, JAVA_INT));
        disposeIndex = fn("clang_disposeIndex", FunctionDescriptor.ofVoid(ADDRESS));
        parseTranslationUnit2 = fn("clang_parseTranslationUnit2", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
        disposeTranslationUnit = fn("clang_disposeTranslationUnit", FunctionDescriptor.ofVoid(ADDRESS));
        getNumDiagnostics = fn("clang_getNumDiagnostics", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getDiagnostic = fn("clang_getDiagnostic", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        getDiagnosticSeverity = fn("clang_getDiagnosticSeverity", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        formatDiagnostic = fn("clang_formatDiagnostic", FunctionDescriptor.of(CX_STRING, ADDRESS, JAVA_INT));
        disposeDiagnostic = fn("clang_disposeDiagnostic", FunctionDescriptor.ofVoid(ADDRESS));
        getDiagnosticLocation = fn("clang_getDiagnosticLocation",
                FunctionDescriptor.of(CX_SOURCE_LOCATION, ADDRESS));
        getCString = fn("clang_getCString", FunctionDescriptor.of(C_STRING, CX_STRING));
        disposeString = fn("clang_disposeString", FunctionDescriptor.ofVoid(CX_STRING));
        getClangVersion = fn("clang_getClangVersion", FunctionDescriptor.of(CX_STRING));

        getTranslationUnitCursor = fn("clang_getTranslationUnitCursor", FunctionDescriptor.of(CX_CURSOR, ADDRESS));
        visitChildren = fn("clang_visitChildren", FunctionDescriptor.of(JAVA_INT, CX_CURSOR, ADDRESS, ADDRESS));
        getCursorKind = fn("clang_getCursorKind", FunctionDescriptor.of(JAVA_INT, CX_CURSOR));
        getCursorSpelling = fn("clang_getCursorSpelling", FunctionDescriptor.of(CX_STRING, CX_CURSOR));
        getCursorType = fn("clang_getCursorType", FunctionDescriptor.of(CX_TYPE, CX_CURSOR));
        getCursorResultType = fn("clang_getCursorResultType", FunctionDescriptor.of(CX_TYPE, CX_CURSOR));
        getCursorLocation = fn("clang_getCursorLocation", FunctionDescriptor.of(CX_SOURCE_LOCATION, CX_CURSOR));
        getCursorExtent = fn("clang_getCursorExtent", FunctionDescriptor.of(CX_SOURCE_RANGE, CX_CURSOR));
        getCursorLinkage = fn("clang_getCursorLinkage", FunctionDescriptor.of(JAVA_INT, CX_CURSOR));
        isCursorDefinition = fn("clang_isCursorDefinition", FunctionDescriptor.of(JAVA_INT, CX_CURSOR));
        cursorIsAnonymous = fn("clang_Cursor_isAnonymous", FunctionDescriptor.of(JAVA_INT, CX_CURSOR));
        cursorIsBitField = fn("clang_Cursor_isBitField", FunctionDescriptor.of(JAVA_INT, CX_CURSOR));
        cursorIsMacroFunctionLike = fn("clang_Cursor_isMacroFunctionLike",
                FunctionDescriptor.of(JAVA_INT, CX_CURSOR));
        cursorGetNumArguments = fn("clang_Cursor_getNumArguments", FunctionDescriptor.of(JAVA_INT, CX_CURSOR));
        cursorGetArgument = fn("clang_Cursor_getArgument", FunctionDescriptor.of(CX_CURSOR, CX_CURSOR, JAVA_INT));
        getEnumConstantDeclValue = fn("clang_getEnumConstantDeclValue", FunctionDescriptor.of(JAVA_LONG, CX_CURSOR));
        getEnumDeclIntegerType = fn("clang_getEnumDeclIntegerType", FunctionDescriptor.of(CX_TYPE, CX_CURSOR));
        getTypedefDeclUnderlyingType = fn("clang_getTypedefDeclUnderlyingType",
                FunctionDescriptor.of(CX_TYPE, CX_CURSOR));
        getTypeDeclaration = fn("clang_getTypeDeclaration", FunctionDescriptor.of(CX_CURSOR, CX_TYPE));
        equalCursors = fn("clang_equalCursors", FunctionDescriptor.of(JAVA_INT, CX_CURSOR, CX_CURSOR));

        getCanonicalType = fn("clang_getCanonicalType", FunctionDescriptor.of(CX_TYPE, CX_TYPE));
        getTypeSpelling = fn("clang_getTypeSpelling", FunctionDescriptor.of(CX_STRING, CX_TYPE));
        getPointeeType = fn("clang_getPointeeType", FunctionDescriptor.of(CX_TYPE, CX_TYPE));
        getResultType = fn("clang_getResultType", FunctionDescriptor.of(CX_TYPE, CX_TYPE));
        isFunctionTypeVariadic = fn("clang_isFunctionTypeVariadic", FunctionDescriptor.of(JAVA_INT, CX_TYPE));
        typeGetSizeOf = fn("clang_Type_getSizeOf", FunctionDescriptor.of(JAVA_LONG, CX_TYPE));
        typeGetAlignOf = fn("clang_Type_getAlignOf", FunctionDescriptor.of(JAVA_LONG, CX_TYPE));
        typeGetOffsetOf = fn("clang_Type_getOffsetOf", FunctionDescriptor.of(JAVA_LONG, CX_TYPE, ADDRESS));

        getFileLocation = fn("clang_getFileLocation",
                FunctionDescriptor.ofVoid(CX_SOURCE_LOCATION, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
        getFileName = fn("clang_getFileName", FunctionDescriptor.of(CX_STRING, ADDRESS));
        tokenize = fn("clang_tokenize", FunctionDescriptor.ofVoid(ADDRESS, CX_SOURCE_RANGE, ADDRESS, ADDRESS));
        disposeTokens = fn("clang_disposeTokens", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, JAVA_INT));

        cursorEvaluate = fn("clang_Cursor_Evaluate", FunctionDescriptor.of(ADDRESS, CX_CURSOR));
        evalGetKind = fn("clang_EvalResult_getKind", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        evalGetAsLongLong = fn("clang_EvalResult_getAsLongLong", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        evalIsUnsignedInt = fn("clang_EvalResult_isUnsignedInt", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        evalGetAsUnsigned = fn("clang_EvalResult_getAsUnsigned", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
        evalGetAsDouble = fn("clang_EvalResult_getAsDouble", FunctionDescriptor.of(JAVA_DOUBLE, ADDRESS));
        evalGetAsStr = fn("clang_EvalResult_getAsStr", FunctionDescriptor.of(C_STRING, ADDRESS));
        evalDispose = fn("clang_EvalResult_dispose", FunctionDescriptor.ofVoid(ADDRESS));

        try {
            MethodHandle visit = MethodHandles.lookup().findVirtual(LibClang.class, "visit",
                    MethodType.methodType(int.class, MemorySegment.class, MemorySegment.class, MemorySegment.class));
            visitorStub = linker.upcallStub(visit.bindTo(this),
                    FunctionDescriptor.of(JAVA_INT, CX_CURSOR, CX_CURSOR, ADDRESS), Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    /**
     * Loads libclang from {@code -Dstride.libclang}, {@code $STRIDE_LIBCLANG}, or the places Debian's
     * {@code libclang1-*} packages install it.
     */
    static LibClang load() {
        List<Path> candidates = new ArrayList<>();
        String explicit = System.getProperty("stride.libclang", System.getenv("STRIDE_LIBCLANG"));
        if (explicit != null && !explicit.isBlank()) {
            Path p = Path.of(explicit);
            if (!Files.isRegularFile(p)) {
                throw new GeneratorException("libclang given by stride.libclang/STRIDE_LIBCLANG does not exist: " + p);
            }
            candidates.add(p);
        }
        candidates.addAll(globNewestFirst(Path.of("/usr/lib"), "llvm-", "lib/libclang.so.1"));
        candidates.addAll(globNewestFirst(Path.of("/usr/lib/x86_64-linux-gnu"), "libclang-", ""));
        candidates.add(Path.of("/usr/lib/x86_64-linux-gnu/libclang.so.1"));
        for (Path p : candidates) {
            if (Files.isRegularFile(p)) {
                return new LibClang(p);
            }
        }
        throw new GeneratorException("libclang not found (looked at " + candidates + "). Install Debian's "
                + "libclang1-14 (apt-get install libclang1-14 libclang-common-14-dev), or point "
                + "-Dstride.libclang / $STRIDE_LIBCLANG at a libclang.so.");
    }

    /** {@code <dir>/<prefix>N<suffix>} for every version N present, highest N first. */
    private static List<Path> globNewestFirst(Path dir, String prefix, String suffix) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(prefix))
                    .filter(n -> suffix.isEmpty() ? n.matches(java.util.regex.Pattern.quote(prefix) + "\\d+\\.so\\.1")
                            : n.substring(prefix.length()).matches("\\d+"))
                    .sorted(Comparator.comparingInt(LibClang::versionOf).reversed())
                    .map(n -> suffix.isEmpty() ? dir.resolve(n) : dir.resolve(n).resolve(suffix))
                    .toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static int versionOf(String name) {
        String digits = name.replaceAll("\\D+", " ").trim().split(" ")[0];
        return digits.isEmpty() ? 0 : Integer.parseInt(digits);
    }

    /**
     * clang's builtin headers ({@code stddef.h}, ...) are not found by libclang alone: prefer the ones
     * of the same LLVM as the loaded libclang, then gcc's.
     */
    Path builtinIncludeDir() {
        String version = clangVersion(); // "Debian clang version 14.0.6"
        String major = version.replaceAll(".*version (\\d+).*", "$1");
        List<Path> roots = new ArrayList<>();
        roots.add(Path.of("/usr/lib/llvm-" + major + "/lib/clang"));
        roots.add(Path.of("/usr/lib/clang"));
        for (Path root : roots) {
            if (!Files.isDirectory(root)) {
                continue;
            }
            try (Stream<Path> s = Files.list(root)) {
                var found = s.map(v -> v.resolve("include"))
                        .filter(inc -> Files.isRegularFile(inc.resolve("stddef.h")))
                        .sorted(Comparator.reverseOrder())
                        .findFirst();
                if (found.isPresent()) {
                    return found.get();
                }
            } catch (IOException ignored) {
                // fall through to the next place
            }
        }
        try {
            Process p = new ProcessBuilder("gcc", "-print-file-name=include").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            if (p.waitFor() == 0 && Files.isRegularFile(Path.of(out, "stddef.h"))) {
                return Path.of(out);
            }
        } catch (IOException e) {
            // reported below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        throw new GeneratorException("no builtin C headers (stddef.h) for " + version
                + ": install libclang-common-" + major + "-dev (or gcc)");
    }

    private MethodHandle fn(String name, FunctionDescriptor fd) {
        MemorySegment addr = lookup.find(name).orElseThrow(
                () -> new GeneratorException(libraryPath + " has no symbol " + name + " (libclang too old?)"));
        return linker.downcallHandle(addr, fd);
    }

    /** Without this LLVM installs signal handlers that take the JVM's SIGSEGV-based checks for crashes. */
    private void disableCrashRecovery() {
        try (Arena a = Arena.ofConfined()) {
            MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
            int rc = (int) setenv.invokeExact(a.allocateFrom("LIBCLANG_DISABLE_CRASH_RECOVERY"),
                    a.allocateFrom("1"), 1);
            if (rc != 0) {
                throw new GeneratorException("setenv(LIBCLANG_DISABLE_CRASH_RECOVERY) failed");
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException(t);
    }

    // ---- index, translation units, diagnostics -------------------------------------------------

    MemorySegment createIndex() {
        try {
            return (MemorySegment) createIndex.invokeExact(0, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    void disposeIndex(MemorySegment index) {
        try {
            disposeIndex.invokeExact(index);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Parses {@code source} (an in-memory file named {@code fileName}) with the given arguments. */
    MemorySegment parse(MemorySegment index, String fileName, String source, List<String> args, Arena arena) {
        MemorySegment argv = arena.allocate(ADDRESS, args.size());
        for (int i = 0; i < args.size(); i++) {
            argv.setAtIndex(ADDRESS, i, arena.allocateFrom(args.get(i)));
        }
        MemorySegment unsaved = arena.allocate(CX_UNSAVED_FILE);
        MemorySegment contents = arena.allocateFrom(source);
        unsaved.set(ADDRESS, 0, arena.allocateFrom(fileName));
        unsaved.set(ADDRESS, 8, contents);
        unsaved.set(JAVA_LONG, 16, contents.byteSize() - 1);
        MemorySegment out = arena.allocate(ADDRESS);
        try {
            int rc = (int) parseTranslationUnit2.invokeExact(index, arena.allocateFrom(fileName), argv, args.size(),
                    unsaved, 1, TU_DETAILED_PREPROCESSING_RECORD, out);
            if (rc != 0) {
                throw new GeneratorException("libclang could not parse " + fileName + " (CXErrorCode " + rc
                        + ") with " + args);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return out.get(ADDRESS, 0);
    }

    void disposeTranslationUnit(MemorySegment tu) {
        try {
            disposeTranslationUnit.invokeExact(tu);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** An error-or-worse diagnostic: its formatted text and the line it points at in the main file. */
    record Diagnostic(String text, String file, int line) {}

    List<Diagnostic> errors(MemorySegment tu, Arena arena) {
        List<Diagnostic> result = new ArrayList<>();
        try {
            int n = (int) getNumDiagnostics.invokeExact(tu);
            for (int i = 0; i < n; i++) {
                MemorySegment d = (MemorySegment) getDiagnostic.invokeExact(tu, i);
                try {
                    if ((int) getDiagnosticSeverity.invokeExact(d) >= DIAGNOSTIC_ERROR) {
                        String text = string((MemorySegment) formatDiagnostic.invokeExact((SegmentAllocator) arena, d,
                                0x1 | 0x2 | 0x4));
                        MemorySegment loc = (MemorySegment) getDiagnosticLocation.invokeExact(
                                (SegmentAllocator) arena, d);
                        Location l = fileLocation(loc, arena);
                        result.add(new Diagnostic(text, l.file(), l.line()));
                    }
                } finally {
                    disposeDiagnostic.invokeExact(d);
                }
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
        return result;
    }

    // ---- strings ---------------------------------------------------------------------------------

    /** Copies a CXString into Java and disposes it. */
    String string(MemorySegment cxString) {
        try {
            MemorySegment chars = (MemorySegment) getCString.invokeExact(cxString);
            String s = chars.equals(MemorySegment.NULL) ? "" : chars.getString(0);
            disposeString.invokeExact(cxString);
            return s;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    String clangVersion() {
        try (Arena a = Arena.ofConfined()) {
            return string((MemorySegment) getClangVersion.invokeExact((SegmentAllocator) a));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- cursors ---------------------------------------------------------------------------------

    MemorySegment translationUnitCursor(MemorySegment tu, Arena arena) {
        try {
            return (MemorySegment) getTranslationUnitCursor.invokeExact((SegmentAllocator) arena, tu);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The direct children of {@code cursor}, in source order, copied into {@code arena}. */
    List<MemorySegment> children(MemorySegment cursor, Arena arena) {
        List<MemorySegment> saved = sink;
        SegmentAllocator savedAllocator = sinkAllocator;
        sink = new ArrayList<>();
        sinkAllocator = arena;
        try {
            int ignored = (int) visitChildren.invokeExact(cursor, visitorStub, MemorySegment.NULL);
            return sink;
        } catch (Throwable t) {
            throw rethrow(t);
        } finally {
            sink = saved;
            sinkAllocator = savedAllocator;
        }
    }

    @SuppressWarnings("unused") // called from native code through visitorStub
    private int visit(MemorySegment cursor, MemorySegment parent, MemorySegment clientData) {
        // The cursor lives in libclang's stack frame only for this call: copy it out.
        sink.add(sinkAllocator.allocate(CX_CURSOR).copyFrom(cursor));
        return 1; // CXChildVisit_Continue: siblings only, the caller recurses where it wants to
    }

    int kind(MemorySegment cursor) {
        return cursor.get(JAVA_INT, 0);
    }

    String spelling(MemorySegment cursor, Arena arena) {
        try {
            return string((MemorySegment) getCursorSpelling.invokeExact((SegmentAllocator) arena, cursor));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment type(MemorySegment cursor, Arena arena) {
        try {
            return (MemorySegment) getCursorType.invokeExact((SegmentAllocator) arena, cursor);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment resultType(MemorySegment cursor, Arena arena) {
        try {
            return (MemorySegment) getCursorResultType.invokeExact((SegmentAllocator) arena, cursor);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int linkage(MemorySegment cursor) {
        try {
            return (int) getCursorLinkage.invokeExact(cursor);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    boolean isDefinition(MemorySegment cursor) {
        return bool(isCursorDefinition, cursor);
    }

    boolean isAnonymous(MemorySegment cursor) {
        return bool(cursorIsAnonymous, cursor);
    }

    boolean isBitField(MemorySegment cursor) {
        return bool(cursorIsBitField, cursor);
    }

    boolean isMacroFunctionLike(MemorySegment cursor) {
        return bool(cursorIsMacroFunctionLike, cursor);
    }

    private static boolean bool(MethodHandle h, MemorySegment cursor) {
        try {
            return (int) h.invokeExact(cursor) != 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    boolean equal(MemorySegment a, MemorySegment b) {
        try {
            return (int) equalCursors.invokeExact(a, b) != 0;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    int numArguments(MemorySegment cursor) {
        try {
            return (int) cursorGetNumArguments.invokeExact(cursor);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment argument(MemorySegment cursor, int i, Arena arena) {
        try {
            return (MemorySegment) cursorGetArgument.invokeExact((SegmentAllocator) arena, cursor, i);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long enumConstantValue(MemorySegment cursor) {
        try {
            return (long) getEnumConstantDeclValue.invokeExact(cursor);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment enumIntegerType(MemorySegment cursor, Arena arena) {
        try {
            return (MemorySegment) getEnumDeclIntegerType.invokeExact((SegmentAllocator) arena, cursor);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment typedefUnderlyingType(MemorySegment cursor, Arena arena) {
        try {
            return (MemorySegment) getTypedefDeclUnderlyingType.invokeExact((SegmentAllocator) arena, cursor);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- types -----------------------------------------------------------------------------------

    int typeKind(MemorySegment type) {
        return type.get(JAVA_INT, 0);
    }

    MemorySegment canonical(MemorySegment type, Arena arena) {
        try {
            return (MemorySegment) getCanonicalType.invokeExact((SegmentAllocator) arena, type);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    String typeSpelling(MemorySegment type, Arena arena) {
        try {
            return string((MemorySegment) getTypeSpelling.invokeExact((SegmentAllocator) arena, type));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** The return type of a function type. */
    MemorySegment functionResult(MemorySegment functionType, Arena arena) {
        try {
            return (MemorySegment) getResultType.invokeExact((SegmentAllocator) arena, functionType);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment pointee(MemorySegment type, Arena arena) {
        try {
            return (MemorySegment) getPointeeType.invokeExact((SegmentAllocator) arena, type);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    MemorySegment typeDeclaration(MemorySegment type, Arena arena) {
        try {
            return (MemorySegment) getTypeDeclaration.invokeExact((SegmentAllocator) arena, type);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    boolean isVariadic(MemorySegment functionType) {
        try {
            return (int) isFunctionTypeVariadic.invokeExact(functionType) == 1;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long sizeOf(MemorySegment type) {
        try {
            return (long) typeGetSizeOf.invokeExact(type);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    long alignOf(MemorySegment type) {
        try {
            return (long) typeGetAlignOf.invokeExact(type);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Offset of {@code field} in the record type, in bits (negative: a CXTypeLayoutError). */
    long offsetOfBits(MemorySegment recordType, String field, Arena arena) {
        try {
            return (long) typeGetOffsetOf.invokeExact(recordType, arena.allocateFrom(field));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- locations and tokens ----------------------------------------------------------------------

    /** A file position; {@code file} is as clang opened it ("" for built-ins and the command line). */
    record Location(String file, int line, int column) {}

    Location location(MemorySegment cursor, Arena arena) {
        try {
            return fileLocation((MemorySegment) getCursorLocation.invokeExact((SegmentAllocator) arena, cursor), arena);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private Location fileLocation(MemorySegment sourceLocation, Arena arena) {
        MemorySegment file = arena.allocate(ADDRESS);
        MemorySegment line = arena.allocate(JAVA_INT);
        MemorySegment column = arena.allocate(JAVA_INT);
        try {
            getFileLocation.invokeExact(sourceLocation, file, line, column, MemorySegment.NULL);
            MemorySegment f = file.get(ADDRESS, 0);
            String name = f.equals(MemorySegment.NULL) ? ""
                    : string((MemorySegment) getFileName.invokeExact((SegmentAllocator) arena, f));
            return new Location(name, line.get(JAVA_INT, 0), column.get(JAVA_INT, 0));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Number of tokens in the cursor's extent; a macro definition's extent includes its name. */
    int tokenCount(MemorySegment tu, MemorySegment cursor, Arena arena) {
        MemorySegment tokens = arena.allocate(ADDRESS);
        MemorySegment count = arena.allocate(JAVA_INT);
        try {
            MemorySegment range = (MemorySegment) getCursorExtent.invokeExact((SegmentAllocator) arena, cursor);
            tokenize.invokeExact(tu, range, tokens, count);
            int n = count.get(JAVA_INT, 0);
            disposeTokens.invokeExact(tu, tokens.get(ADDRESS, 0), n);
            return n;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    // ---- evaluation ------------------------------------------------------------------------------

    /** What {@code clang_Cursor_Evaluate} made of a declaration's initializer. */
    sealed interface Value {
        record Int(long value, boolean unsigned) implements Value {}
        record Float(double value) implements Value {}
        record Str(String value) implements Value {}
        record None() implements Value {}
    }

    Value evaluate(MemorySegment cursor) {
        try {
            MemorySegment r = (MemorySegment) cursorEvaluate.invokeExact(cursor);
            if (r.equals(MemorySegment.NULL)) {
                return new Value.None();
            }
            try {
                int kind = (int) evalGetKind.invokeExact(r);
                return switch (kind) {
                    case EVAL_INT -> ((int) evalIsUnsignedInt.invokeExact(r)) != 0
                            ? new Value.Int((long) evalGetAsUnsigned.invokeExact(r), true)
                            : new Value.Int((long) evalGetAsLongLong.invokeExact(r), false);
                    case EVAL_FLOAT -> new Value.Float((double) evalGetAsDouble.invokeExact(r));
                    case EVAL_STR_LITERAL -> new Value.Str(((MemorySegment) evalGetAsStr.invokeExact(r)).getString(0));
                    default -> new Value.None();
                };
            } finally {
                evalDispose.invokeExact(r);
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
