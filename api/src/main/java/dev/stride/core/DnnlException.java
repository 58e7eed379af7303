package dev.stride.core;

/**
 * oneDNN returned an error status. Carries the status name and the operation, and says how to see more.
 *
 * <p>Immutable, like every exception here.
 */
public final class DnnlException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;
    private final String statusName;
    private final String operation;

    public DnnlException(int status, String statusName, String operation) {
        super("oneDNN failed to " + operation + ": " + statusName + " (status " + status
                + "). Rerun with ONEDNN_VERBOSE=all (or -Dstride.verbose=all) to see what oneDNN tried.");
        this.status = status;
        this.statusName = statusName;
        this.operation = operation;
    }

    /** The raw {@code dnnl_status_t}. */
    public int status() {
        return status;
    }

    /** The status name, e.g. {@code invalid_arguments}. */
    public String statusName() {
        return statusName;
    }

    /** What Stride was doing, e.g. {@code create convolution forward primitive descriptor}. */
    public String operation() {
        return operation;
    }
}
