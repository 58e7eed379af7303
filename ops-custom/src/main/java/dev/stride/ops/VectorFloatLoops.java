package dev.stride.ops;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link FloatLoops} on the Vector API, in the JVM's preferred vector width. Only loaded when
 * {@link FloatLoops#VECTORIZED} (the module is optional). The reductions keep two vector accumulators, enough
 * to hide the add latency at memory speed; the tails run one element at a time.
 */
final class VectorFloatLoops {
    private VectorFloatLoops() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int LANES = S.length();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();
    private static final long VECTOR_BYTES = S.vectorByteSize();

    static float sum(MemorySegment a, long from, int len) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        long o = from * Float.BYTES;
        for (long end = o + (len / (2 * LANES)) * 2 * VECTOR_BYTES; o < end; o += 2 * VECTOR_BYTES) {
            s0 = s0.add(FloatVector.fromMemorySegment(S, a, o, ORDER));
            s1 = s1.add(FloatVector.fromMemorySegment(S, a, o + VECTOR_BYTES, ORDER));
        }
        float s = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (long i = o / Float.BYTES, end = from + len; i < end; i++) {
            s += a.getAtIndex(F, i);
        }
        return s;
    }

    static float dot(MemorySegment a, MemorySegment b, long from, int len) {
        FloatVector s0 = FloatVector.zero(S);
        FloatVector s1 = FloatVector.zero(S);
        long o = from * Float.BYTES;
        for (long end = o + (len / (2 * LANES)) * 2 * VECTOR_BYTES; o < end; o += 2 * VECTOR_BYTES) {
            s0 = FloatVector.fromMemorySegment(S, a, o, ORDER).fma(FloatVector.fromMemorySegment(S, b, o, ORDER), s0);
            long o1 = o + VECTOR_BYTES;
            s1 = FloatVector.fromMemorySegment(S, a, o1, ORDER).fma(FloatVector.fromMemorySegment(S, b, o1, ORDER), s1);
        }
        float s = s0.add(s1).reduceLanes(VectorOperators.ADD);
        for (long i = o / Float.BYTES, end = from + len; i < end; i++) {
            s += a.getAtIndex(F, i) * b.getAtIndex(F, i);
        }
        return s;
    }

    static void scaleShift(MemorySegment src, MemorySegment dst, long from, int len, float k, float g) {
        FloatVector kv = FloatVector.broadcast(S, k);
        FloatVector gv = FloatVector.broadcast(S, g);
        long o = from * Float.BYTES;
        for (long end = o + (len / LANES) * VECTOR_BYTES; o < end; o += VECTOR_BYTES) {
            FloatVector.fromMemorySegment(S, src, o, ORDER).fma(kv, gv).intoMemorySegment(dst, o, ORDER);
        }
        for (long i = o / Float.BYTES, end = from + len; i < end; i++) {
            dst.setAtIndex(F, i, k * src.getAtIndex(F, i) + g);
        }
    }
}
