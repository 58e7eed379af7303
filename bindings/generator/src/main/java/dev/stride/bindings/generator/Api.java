package dev.stride.bindings.generator;

import java.util.List;

/** What the parser found in the headers, in declaration order; the writer turns it into Java. */
record Api(String libraryVersion, List<Header> headers, List<Function> functions, List<Constant> enumConstants,
           List<Constant> macros, List<Struct> structs, List<Callback> callbacks) {

    /** A parsed header: path relative to the include directory, and the SHA-256 of its bytes. */
    record Header(String path, String sha256) {}

    /** The C scalar kinds the bindings carry, each with its Java type and jextract's layout name. */
    enum Type {
        VOID("void", null),
        BOOL("boolean", "C_BOOL"),
        BYTE("byte", "C_CHAR"),
        SHORT("short", "C_SHORT"),
        INT("int", "C_INT"),
        LONG("long", "C_LONG"),
        FLOAT("float", "C_FLOAT"),
        DOUBLE("double", "C_DOUBLE"),
        POINTER("MemorySegment", "C_POINTER"),
        /** Only for macros: a string literal. */
        STRING("MemorySegment", null);

        final String java;
        final String layout;

        Type(String java, String layout) {
            this.java = java;
            this.layout = layout;
        }
    }

    record Param(String name, Type type) {}

    record Function(String name, Type returnType, List<Param> params) {}

    /** A typedef'd function pointer ({@code typedef R (*name)(params)}): C calls it, so Java implements it. */
    record Callback(String name, Type returnType, List<Param> params) {}

    /**
     * An enum constant or an evaluated macro. {@code bits} holds integers as the Java value
     * (already narrowed to the type) and floating-point values as {@link Double#doubleToRawLongBits}.
     */
    record Constant(String name, Type type, long bits, String string) {
        double asDouble() {
            return Double.longBitsToDouble(bits);
        }
    }

    record Field(String name, Type type, long offset) {}

    record Struct(String name, long size, long alignment, List<Field> fields) {}
}
