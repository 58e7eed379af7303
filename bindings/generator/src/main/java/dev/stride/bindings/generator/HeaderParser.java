package dev.stride.bindings.generator;

import dev.stride.bindings.generator.Api.Callback;
import dev.stride.bindings.generator.Api.Constant;
import dev.stride.bindings.generator.Api.Field;
import dev.stride.bindings.generator.Api.Function;
import dev.stride.bindings.generator.Api.Header;
import dev.stride.bindings.generator.Api.Param;
import dev.stride.bindings.generator.Api.Struct;
import dev.stride.bindings.generator.Api.Type;
import dev.stride.bindings.generator.LibClang.Location;
import dev.stride.bindings.generator.LibClang.Value;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.stride.bindings.generator.LibClang.*;

/**
 * Reads the configured headers with libclang and collects functions, enum constants, evaluated
 * object-like macros and struct layouts, in declaration order. Anything it cannot bind faithfully
 * is reported (symbol and {@code header:line}) unless the config excludes it by name.
 */
final class HeaderParser {

    private static final String MAIN_FILE = "stride_bindings.c";
    private static final String MACRO_FILE = "stride_macros.c";
    private static final String MACRO_PREFIX = "stride_macro_";

    private final LibClang clang;
    private final Config config;
    private final Path includeDir;
    private final List<String> args;

    private final List<String> errors = new ArrayList<>();
    private final Set<String> usedExcludes = new LinkedHashSet<>();
    private final Set<String> seenHeaders = new LinkedHashSet<>();
    private final Set<String> reportedHeaders = new LinkedHashSet<>();

    private final Map<String, Function> functions = new LinkedHashMap<>();
    private final List<Constant> enumConstants = new ArrayList<>();
    private final Map<String, Struct> structs = new LinkedHashMap<>();
    private final Map<String, Callback> callbacks = new LinkedHashMap<>();
    private final Map<String, Location> macroCandidates = new LinkedHashMap<>();

    HeaderParser(LibClang clang, Config config, Path includeDir) {
        this.clang = clang;
        this.config = config;
        this.includeDir = includeDir.toAbsolutePath().normalize();
        this.args = List.of("-x", "c", "-std=c11", "-I" + this.includeDir, "-I" + clang.builtinIncludeDir());
    }

    /** Thrown inside one declaration's handling; becomes an error line naming the declaration. */
    private static final class Unsupported extends Exception {
        private static final long serialVersionUID = 1L;

        Unsupported(String reason) {
            super(reason, null, false, false);
        }
    }

    Api parse() {
        List<Header> headers = hashHeaders();
        MemorySegment index = clang.createIndex();
        List<Constant> macros;
        try (Arena arena = Arena.ofConfined()) {
            StringBuilder src = new StringBuilder();
            for (String root : config.roots()) {
                src.append("#include \"").append(root).append("\"\n");
            }
            MemorySegment tu = clang.parse(index, MAIN_FILE, src.toString(), args, arena);
            try {
                failOnDiagnostics(tu, arena);
                for (MemorySegment cursor : clang.children(clang.translationUnitCursor(tu, arena), arena)) {
                    declaration(tu, cursor, arena);
                }
            } finally {
                clang.disposeTranslationUnit(tu);
            }
            for (String h : config.headers()) {
                if (!seenHeaders.contains(h)) {
                    errors.add(h + ": listed as a header but the roots do not include it (or it declares nothing)");
                }
            }
            macros = evaluateMacros(index, arena);
        } finally {
            clang.disposeIndex(index);
        }
        for (String name : config.excludedNames()) {
            if (!usedExcludes.contains(name)) {
                errors.add("exclude " + name + ": no such declaration in the headers (stale entry?)");
            }
        }
        if (!errors.isEmpty()) {
            throw new GeneratorException(errors.size() + " declaration(s) cannot be bound (add a symbol to the "
                    + "config's exclude list, with a reason, if it needs no binding):\n  " + String.join("\n  ", errors));
        }
        return new Api(version(macros), headers, List.copyOf(functions.values()), List.copyOf(enumConstants),
                macros, List.copyOf(structs.values()), List.copyOf(callbacks.values()));
    }

    private List<Header> hashHeaders() {
        List<Header> result = new ArrayList<>();
        for (String h : config.headers()) {
            Path file = includeDir.resolve(h);
            try {
                byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file));
                result.add(new Header(h, HexFormat.of().formatHex(digest)));
            } catch (IOException e) {
                throw new GeneratorException("configured header " + h + " not found under " + includeDir, e);
            } catch (NoSuchAlgorithmException e) {
                throw new AssertionError(e);
            }
        }
        return result;
    }

    private void failOnDiagnostics(MemorySegment tu, Arena arena) {
        List<LibClang.Diagnostic> diagnostics = clang.errors(tu, arena);
        if (!diagnostics.isEmpty()) {
            throw new GeneratorException("clang reports errors in the headers:\n  "
                    + String.join("\n  ", diagnostics.stream().map(LibClang.Diagnostic::text).toList()));
        }
    }

    /** Path relative to the include directory, with '/' separators; null when outside it. */
    private String relative(String file) {
        if (file.isEmpty()) {
            return null;
        }
        Path p = Path.of(file).toAbsolutePath().normalize();
        if (!p.startsWith(includeDir)) {
            return null;
        }
        return includeDir.relativize(p).toString().replace('\\', '/');
    }

    /** True when the header sits in a folder of one of the roots (e.g. oneapi/dnnl/). */
    private boolean besideRoots(String rel) {
        for (String root : config.roots()) {
            int slash = root.lastIndexOf('/');
            String folder = slash < 0 ? "" : root.substring(0, slash + 1);
            if (rel.startsWith(folder) && rel.indexOf('/', folder.length()) < 0) {
                return true;
            }
        }
        return false;
    }

    private boolean excluded(String name) {
        if (config.excludes().containsKey(name)) {
            usedExcludes.add(name);
            return true;
        }
        return false;
    }

    private void fail(String name, Location loc, String reason) {
        String rel = relative(loc.file());
        errors.add((rel == null ? loc.file() : rel) + ":" + loc.line() + ": " + name + ": " + reason);
    }

    // ---- declarations --------------------------------------------------------------------------------

    private void declaration(MemorySegment tu, MemorySegment cursor, Arena arena) {
        int kind = clang.kind(cursor);
        if (kind == CURSOR_MACRO_EXPANSION || kind == CURSOR_INCLUSION_DIRECTIVE) {
            return;
        }
        Location loc = clang.location(cursor, arena);
        String rel = relative(loc.file());
        if (rel == null) {
            return; // the C library, compiler built-ins, our own synthetic file
        }
        if (!config.headers().contains(rel)) {
            if (besideRoots(rel) && !config.ignoredHeaders().contains(rel) && reportedHeaders.add(rel)) {
                errors.add(rel + ": included by the roots but neither `header` nor `ignore-header` in the config");
            }
            return;
        }
        seenHeaders.add(rel);
        String name = clang.spelling(cursor, arena);
        switch (kind) {
            case CURSOR_FUNCTION_DECL -> {
                if (!excluded(name) && !functions.containsKey(name)) {
                    try {
                        functions.put(name, function(cursor, name, arena));
                    } catch (Unsupported e) {
                        fail(name, loc, e.getMessage());
                    }
                }
            }
            case CURSOR_ENUM_DECL -> {
                if (clang.isDefinition(cursor)) {
                    enumeration(cursor, arena);
                }
            }
            case CURSOR_STRUCT_DECL, CURSOR_UNION_DECL -> {
                // Forward declarations are opaque handles (pointers only); unnamed definitions are
                // handled by the typedef or variable that names them.
                if (clang.isDefinition(cursor) && !unnamed(cursor, name) && !excluded(name)) {
                    record(cursor, name, loc, arena);
                }
            }
            case CURSOR_TYPEDEF_DECL -> typedef(cursor, name, loc, arena);
            case CURSOR_VAR_DECL -> {
                if (!excluded(name)) {
                    fail(name, loc, "variable declarations are not bound (" + clang.typeSpelling(
                            clang.type(cursor, arena), arena) + ")");
                }
            }
            case CURSOR_MACRO_DEFINITION -> {
                // Function-like macros and empty ones (include guards, DNNL_API) are not constants.
                if (!clang.isMacroFunctionLike(cursor) && clang.tokenCount(tu, cursor, arena) > 1
                        && !excluded(name)) {
                    macroCandidates.putIfAbsent(name, loc);
                }
            }
            default -> {
                if (!excluded(name)) {
                    fail(name, loc, "unsupported declaration (cursor kind " + kind + ")");
                }
            }
        }
    }

    private boolean unnamed(MemorySegment recordCursor, String spelling) {
        // clang 14 spells unnamed records "" ; later versions "(unnamed struct at ...)".
        return spelling.isEmpty() || spelling.contains("(unnamed") || spelling.contains("(anonymous")
                || clang.isAnonymous(recordCursor);
    }

    private Function function(MemorySegment cursor, String name, Arena arena) throws Unsupported {
        if (clang.linkage(cursor) == LINKAGE_INTERNAL) {
            throw new Unsupported("static function: not an exported symbol");
        }
        MemorySegment fnType = clang.type(cursor, arena);
        if (clang.typeKind(clang.canonical(fnType, arena)) == TYPE_FUNCTION_NO_PROTO) {
            throw new Unsupported("function without a prototype (write `(void)` for no parameters)");
        }
        if (clang.isVariadic(fnType)) {
            throw new Unsupported("variadic function");
        }
        Type ret = map(clang.resultType(cursor, arena), false, true, arena, "return type");
        int n = clang.numArguments(cursor);
        List<Param> params = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            MemorySegment arg = clang.argument(cursor, i, arena);
            String pname = clang.spelling(arg, arena);
            if (pname.isEmpty()) {
                pname = "x" + i; // jextract's name for unnamed parameters
            }
            params.add(new Param(pname, map(clang.type(arg, arena), true, false, arena, "parameter " + pname)));
        }
        return new Function(name, ret, List.copyOf(params));
    }

    private void enumeration(MemorySegment cursor, Arena arena) {
        Type type;
        try {
            type = map(clang.enumIntegerType(cursor, arena), false, false, arena, "enum integer type");
        } catch (Unsupported e) {
            fail(clang.spelling(cursor, arena), clang.location(cursor, arena), e.getMessage());
            return;
        }
        for (MemorySegment c : clang.children(cursor, arena)) {
            if (clang.kind(c) != CURSOR_ENUM_CONSTANT_DECL) {
                continue;
            }
            String name = clang.spelling(c, arena);
            if (excluded(name)) {
                continue;
            }
            long value = clang.enumConstantValue(c);
            if (type == Type.INT) {
                if (value < Integer.MIN_VALUE || value > 0xFFFF_FFFFL) {
                    fail(name, clang.location(c, arena), "value " + value + " does not fit 32 bits");
                    continue;
                }
                value = (int) value; // unsigned enums keep their bit pattern, as in C
            } else if (type != Type.LONG) {
                fail(name, clang.location(c, arena), "enum of " + type + " is not supported");
                continue;
            }
            enumConstants.add(new Constant(name, type, value, null));
        }
    }

    private void typedef(MemorySegment cursor, String name, Location loc, Arena arena) {
        MemorySegment canon = clang.canonical(clang.typedefUnderlyingType(cursor, arena), arena);
        if (clang.typeKind(canon) == TYPE_POINTER && isFunction(clang.pointee(canon, arena), arena)) {
            if (!excluded(name) && !callbacks.containsKey(name)) {
                try {
                    callbacks.put(name, callback(cursor, name, clang.pointee(canon, arena), arena));
                } catch (Unsupported e) {
                    fail(name, loc, e.getMessage());
                }
            }
            return;
        }
        if (clang.typeKind(canon) != TYPE_RECORD) {
            return; // an alias: uses resolve to the canonical type
        }
        MemorySegment decl = clang.typeDeclaration(canon, arena);
        if (!clang.isDefinition(decl) || !unnamed(decl, clang.spelling(decl, arena)) || excluded(name)) {
            return;
        }
        record(decl, name, loc, arena);
    }

    private boolean isFunction(MemorySegment type, Arena arena) {
        int kind = clang.typeKind(clang.canonical(type, arena));
        return kind == TYPE_FUNCTION_PROTO || kind == TYPE_FUNCTION_NO_PROTO;
    }

    /** A function pointer typedef: its signature from the function type, its parameter names from the typedef. */
    private Callback callback(MemorySegment cursor, String name, MemorySegment fnType, Arena arena) throws Unsupported {
        if (clang.typeKind(clang.canonical(fnType, arena)) == TYPE_FUNCTION_NO_PROTO) {
            throw new Unsupported("callback without a prototype (write `(void)` for no parameters)");
        }
        if (clang.isVariadic(fnType)) {
            throw new Unsupported("variadic callback");
        }
        Type ret = map(clang.functionResult(fnType, arena), false, true, arena, "callback return type");
        List<Param> params = new ArrayList<>();
        for (MemorySegment c : clang.children(cursor, arena)) {
            if (clang.kind(c) != CURSOR_PARM_DECL) {
                continue;
            }
            String pname = clang.spelling(c, arena);
            if (pname.isEmpty()) {
                pname = "x" + params.size();
            }
            params.add(new Param(pname, map(clang.type(c, arena), true, false, arena, "callback parameter " + pname)));
        }
        return new Callback(name, ret, List.copyOf(params));
    }

    private void record(MemorySegment cursor, String name, Location loc, Arena arena) {
        if (structs.containsKey(name)) {
            return;
        }
        if (clang.kind(cursor) == CURSOR_UNION_DECL) {
            fail(name, loc, "unions are not supported");
            return;
        }
        try {
            structs.put(name, struct(cursor, name, arena));
        } catch (Unsupported e) {
            fail(name, loc, e.getMessage());
        }
    }

    private Struct struct(MemorySegment cursor, String name, Arena arena) throws Unsupported {
        MemorySegment type = clang.type(cursor, arena);
        long size = clang.sizeOf(type);
        long align = clang.alignOf(type);
        List<Field> fields = new ArrayList<>();
        long naturalAlign = 1;
        for (MemorySegment c : clang.children(cursor, arena)) {
            if (clang.kind(c) != CURSOR_FIELD_DECL) {
                continue;
            }
            String field = clang.spelling(c, arena);
            if (field.isEmpty()) {
                throw new Unsupported("anonymous member");
            }
            if (clang.isBitField(c)) {
                throw new Unsupported("bit-field " + field);
            }
            MemorySegment ftype = clang.type(c, arena);
            Type t = map(ftype, false, false, arena, "field " + field);
            long bits = clang.offsetOfBits(type, field, arena);
            long fsize = clang.sizeOf(ftype);
            if (bits < 0 || bits % 8 != 0 || (bits / 8) % fsize != 0) {
                throw new Unsupported("field " + field + " at bit offset " + bits
                        + " is not naturally aligned (packed struct?)");
            }
            naturalAlign = Math.max(naturalAlign, fsize);
            fields.add(new Field(field, t, bits / 8));
        }
        if (align != naturalAlign || size % align != 0) {
            throw new Unsupported("alignment " + align + " differs from its fields' natural alignment "
                    + naturalAlign + " (aligned or packed attribute?)");
        }
        return new Struct(name, size, align, List.copyOf(fields));
    }

    /**
     * Maps a C type to a carrier. Arrays only occur as parameters (where C passes a pointer);
     * by-value records would need layouts the bindings do not make, and a function pointer is bound only
     * through a typedef (which gets an upcall class, {@link Callback}).
     */
    private Type map(MemorySegment type, boolean param, boolean ret, Arena arena, String what) throws Unsupported {
        MemorySegment canon = clang.canonical(type, arena);
        int kind = clang.typeKind(canon);
        Type scalar = scalar(kind);
        if (scalar != null) {
            return scalar;
        }
        String spelled = clang.typeSpelling(type, arena);
        switch (kind) {
            case TYPE_VOID -> {
                if (ret) {
                    return Type.VOID;
                }
            }
            case TYPE_ENUM -> {
                return map(clang.enumIntegerType(clang.typeDeclaration(canon, arena), arena), param, ret, arena, what);
            }
            case TYPE_POINTER -> {
                if (isFunction(clang.pointee(canon, arena), arena) && !callbacks.containsKey(spelled)) {
                    throw new Unsupported(what + " is a callback (function pointer `" + spelled
                            + "`) without a typedef that names it");
                }
                return Type.POINTER;
            }
            case TYPE_CONSTANT_ARRAY, TYPE_INCOMPLETE_ARRAY -> {
                if (param) {
                    return Type.POINTER;
                }
            }
            case TYPE_RECORD -> throw new Unsupported(what + " is a struct or union by value (`" + spelled + "`)");
            default -> {
            }
        }
        throw new Unsupported(what + " has unsupported type `" + spelled + "`");
    }

    /** C scalar kinds on LP64 Linux. */
    private static Type scalar(int kind) {
        return switch (kind) {
            case TYPE_BOOL -> Type.BOOL;
            case TYPE_CHAR_U, TYPE_UCHAR, TYPE_CHAR_S, TYPE_SCHAR -> Type.BYTE;
            case TYPE_USHORT, TYPE_SHORT -> Type.SHORT;
            case TYPE_UINT, TYPE_INT -> Type.INT;
            case TYPE_ULONG, TYPE_LONG, TYPE_ULONGLONG, TYPE_LONGLONG -> Type.LONG;
            case TYPE_FLOAT -> Type.FLOAT;
            case TYPE_DOUBLE -> Type.DOUBLE;
            default -> null;
        };
    }

    // ---- macros ----------------------------------------------------------------------------------------

    /**
     * jextract's approach: a second translation unit declares {@code __auto_type stride_macro_X = X;}
     * for every candidate, so clang both types and evaluates each expansion. A line with an error is a
     * macro that looks like a constant but is not one. clang does not evaluate pointer constants such
     * as {@code ((void *) -1)}; like jextract, a third unit reads those through a cast to an integer.
     */
    private List<Constant> evaluateMacros(MemorySegment index, Arena arena) {
        if (macroCandidates.isEmpty()) {
            return List.of();
        }
        List<String> names = List.copyOf(macroCandidates.keySet());
        Map<String, Constant> values = new LinkedHashMap<>();
        List<String> pointers = new ArrayList<>();
        evaluate(index, names, "%s", arena, (name, var) -> {
            MemorySegment type = clang.canonical(clang.type(var, arena), arena);
            Value v = clang.evaluate(var);
            Constant k = constant(name, clang.typeKind(type), v);
            if (k != null) {
                values.put(name, k);
            } else if (clang.typeKind(type) == TYPE_POINTER && v instanceof Value.None) {
                pointers.add(name);
            } else {
                fail(name, macroCandidates.get(name), "macro does not evaluate to a number, address or string "
                        + "literal (type `" + clang.typeSpelling(type, arena) + "`)");
            }
        });
        if (!pointers.isEmpty()) {
            evaluate(index, pointers, "(unsigned long long) (%s)", arena, (name, var) -> {
                if (clang.evaluate(var) instanceof Value.Int i) {
                    values.put(name, new Constant(name, Type.POINTER, i.value(), null));
                } else {
                    fail(name, macroCandidates.get(name), "pointer macro does not evaluate to an address");
                }
            });
        }
        return names.stream().filter(values::containsKey).map(values::get).toList();
    }

    /** Declares {@code __auto_type stride_macro_NAME = <exprFormat with NAME>;} per name and visits each variable. */
    private void evaluate(MemorySegment index, List<String> names, String exprFormat, Arena arena,
                          java.util.function.BiConsumer<String, MemorySegment> visitor) {
        StringBuilder src = new StringBuilder();
        for (String root : config.roots()) {
            src.append("#include \"").append(root).append("\"\n");
        }
        int firstLine = config.roots().size() + 1;
        for (String name : names) {
            src.append("__auto_type ").append(MACRO_PREFIX).append(name).append(" = ")
                    .append(exprFormat.formatted(name)).append(";\n");
        }
        MemorySegment tu = clang.parse(index, MACRO_FILE, src.toString(), args, arena);
        try {
            Set<String> broken = new LinkedHashSet<>();
            for (LibClang.Diagnostic d : clang.errors(tu, arena)) {
                int i = d.line() - firstLine;
                if (d.file().endsWith(MACRO_FILE) && i >= 0 && i < names.size()) {
                    if (broken.add(names.get(i))) {
                        fail(names.get(i), macroCandidates.get(names.get(i)),
                                "macro is not a constant expression: " + d.text());
                    }
                } else {
                    throw new GeneratorException("clang reports errors evaluating macros:\n  " + d.text());
                }
            }
            for (MemorySegment c : clang.children(clang.translationUnitCursor(tu, arena), arena)) {
                if (clang.kind(c) != CURSOR_VAR_DECL) {
                    continue;
                }
                String var = clang.spelling(c, arena);
                if (!var.startsWith(MACRO_PREFIX) || !clang.location(c, arena).file().endsWith(MACRO_FILE)) {
                    continue;
                }
                String name = var.substring(MACRO_PREFIX.length());
                if (!broken.contains(name)) {
                    visitor.accept(name, c);
                }
            }
        } finally {
            clang.disposeTranslationUnit(tu);
        }
    }

    /** The constant for an evaluated value of a C type kind; null when they do not fit together. */
    private static Constant constant(String name, int typeKind, Value v) {
        Type scalar = scalar(typeKind);
        if (v instanceof Value.Int i && scalar != null && scalar != Type.FLOAT && scalar != Type.DOUBLE) {
            long bits = switch (scalar) {
                case BOOL -> i.value() != 0 ? 1 : 0;
                case BYTE -> (byte) i.value();
                case SHORT -> (short) i.value();
                case INT -> (int) i.value();
                default -> i.value();
            };
            return new Constant(name, scalar, bits, null);
        }
        if (v instanceof Value.Float f && (scalar == Type.FLOAT || scalar == Type.DOUBLE)) {
            double d = scalar == Type.FLOAT ? (float) f.value() : f.value();
            return new Constant(name, scalar, Double.doubleToRawLongBits(d), null);
        }
        if (v instanceof Value.Int i && typeKind == TYPE_POINTER) {
            return new Constant(name, Type.POINTER, i.value(), null);
        }
        if (v instanceof Value.Str s && typeKind == TYPE_POINTER) {
            return new Constant(name, Type.STRING, 0, s.value());
        }
        return null;
    }

    private String version(List<Constant> macros) {
        if (config.versionMacros().isEmpty()) {
            return "";
        }
        List<String> parts = new ArrayList<>();
        for (String m : config.versionMacros()) {
            Constant c = macros.stream().filter(k -> k.name().equals(m)).findFirst().orElseThrow(
                    () -> new GeneratorException("version macro " + m + " not found among the evaluated macros"));
            parts.add(Long.toString(c.bits()));
        }
        return String.join(".", parts);
    }
}
