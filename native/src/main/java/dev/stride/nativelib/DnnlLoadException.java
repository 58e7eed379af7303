package dev.stride.nativelib;

/** oneDNN could not be found or loaded; the message lists every location tried and why each failed. */
public final class DnnlLoadException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DnnlLoadException(String message) {
        super(message);
    }
}
