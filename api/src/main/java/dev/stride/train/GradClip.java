package dev.stride.train;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Gradient clipping over a list of parameters, between the backward pass and {@link Optimizer#step()}:
 * PyTorch's {@code torch.nn.utils.clip_grad_norm_} and {@code clip_grad_value_}. Allocates nothing (after a
 * thread's first call, which allocates its scratch arrays).
 *
 * <p>Thread-safe: static functions; the gradients it scales must not be in use by another thread.
 */
public final class GradClip {

    /** Added to the norm before dividing, as PyTorch does, so a zero norm never divides by zero. */
    public static final double EPS = 1e-6;

    /** Scratch arrays for the loops, one set per thread (allocated on a thread's first call). */
    private static final ThreadLocal<Kernels> KERNELS = ThreadLocal.withInitial(Kernels::new);

    private GradClip() {}

    /**
     * The global L2 norm of all gradients, {@code sqrt(sum over parameters and elements of g^2)}, computed in
     * double (PyTorch: the norm of the per-parameter norms, in f32).
     */
    public static double norm(List<Parameter> parameters) {
        checkList("norm", parameters);
        Kernels k = KERNELS.get();
        double sum = 0;
        for (int i = 0; i < parameters.size(); i++) {
            MemorySegment g = parameters.get(i).grad().segment();
            sum += k.sumOfSquares(g, g.byteSize() / Float.BYTES);
        }
        return Math.sqrt(sum);
    }

    /**
     * Rescales all gradients together so that their global L2 norm is at most {@code maxNorm}:
     * <pre>
     *   total = sqrt(sum of g^2 over all gradients)
     *   c = maxNorm / (total + 1e-6);  if c &lt; 1: g = c * g  for every gradient
     * </pre>
     * exactly as {@code clip_grad_norm_(parameters, max_norm)} (which multiplies by {@code min(c, 1)}). When the
     * norm is not finite the gradients are left as they are (PyTorch would make them all NaN or zero); the
     * caller sees it in the returned value and can skip the step.
     *
     * @param maxNorm the largest norm allowed, {@code > 0}
     * @return the global norm before clipping
     */
    public static double byNorm(List<Parameter> parameters, double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) {
            throw new IllegalArgumentException("clip by norm: max norm must be a finite number > 0, got " + maxNorm);
        }
        double total = norm(parameters);
        double c = maxNorm / (total + EPS);
        if (Double.isFinite(total) && c < 1) {
            Kernels k = KERNELS.get();
            float factor = (float) c;
            for (int i = 0; i < parameters.size(); i++) {
                MemorySegment g = parameters.get(i).grad().segment();
                k.scale(g, g.byteSize() / Float.BYTES, factor);
            }
        }
        return total;
    }

    /**
     * Clamps every gradient element to {@code [-clipValue, clipValue]}, as {@code clip_grad_value_}; NaN stays NaN.
     *
     * @param clipValue the largest magnitude allowed, {@code > 0}
     */
    public static void byValue(List<Parameter> parameters, double clipValue) {
        if (!(clipValue > 0) || Double.isInfinite(clipValue)) {
            throw new IllegalArgumentException("clip by value: clip value must be a finite number > 0, got " + clipValue);
        }
        Optimizer.checkFloat("clip by value", "clip value", clipValue); // the clamp runs in f32
        checkList("clip by value", parameters);
        Kernels k = KERNELS.get();
        float limit = (float) clipValue;
        for (int i = 0; i < parameters.size(); i++) {
            MemorySegment g = parameters.get(i).grad().segment();
            k.clamp(g, g.byteSize() / Float.BYTES, limit);
        }
    }

    private static void checkList(String what, List<Parameter> parameters) {
        if (parameters == null) {
            throw new IllegalArgumentException(what + ": expected a list of parameters, got null");
        }
    }
}
