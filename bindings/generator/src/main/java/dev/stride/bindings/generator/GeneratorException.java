package dev.stride.bindings.generator;

/** A header, config or environment problem the generator refuses to paper over. */
public final class GeneratorException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public GeneratorException(String message) {
        super(message);
    }

    public GeneratorException(String message, Throwable cause) {
        super(message, cause);
    }
}
