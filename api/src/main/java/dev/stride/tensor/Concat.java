package dev.stride.tensor;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.core.Arg;
import dev.stride.core.Engine;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.NativeResource;
import dev.stride.core.Primitive;
import dev.stride.core.PrimitiveAttr;
import dev.stride.core.PrimitiveOp;
import dev.stride.core.Reorder;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * Concatenation along one axis (oneDNN's concat primitive), e.g. a dense block's channels:
 * {@code dst[..., o_i + j, ...] = src_i[..., j, ...]} with {@code o_i} the sum of the earlier sources'
 * extents along the axis.
 *
 * <p>The gradient slices {@code diff_dst} back into the pieces: {@code diff_src_i} is the window of
 * {@code diff_dst} at {@code o_i}, copied out by a reorder from a sub-memory descriptor (no Java loops).
 *
 * <p><b>Shape</b>: every src the same rank and the same dims except along {@code axis};
 * dst the same with {@code dst[axis] = sum_i src_i[axis]}.
 *
 * <p>Thread-safe: the primitive ops here (Forward, Backward ...) can run on several threads at once, each with its
 * own bound arguments ({@code bind} gives an {@link dev.stride.core.ExecArgs} with its own scratchpad) and its own
 * {@link dev.stride.core.Stream}; one binding is confined to one thread at a time (a concurrent caller gets
 * IllegalStateException). The one-off {@code executePlain} calls bind per call and are thread-safe likewise.
 */
public final class Concat {
    private Concat() {}

    /** Output dims of concatenating {@code srcs} along {@code axis}; throws naming the mismatch. */
    public static long[] outputDims(String name, int axis, long[]... srcs) {
        if (srcs == null || srcs.length < 1) {
            throw new IllegalArgumentException(name + ": concat needs at least one source");
        }
        // Each source on its own first: a bad extent is that source's fault, not a mismatch with source 0.
        for (int i = 0; i < srcs.length; i++) {
            Dims.require(name, "source " + i, srcs[i]);
        }
        long[] first = srcs[0];
        if (axis < 0 || axis >= first.length) {
            throw new IllegalArgumentException(name + ": concat axis " + axis + " is out of range for "
                    + first.length + "D sources (0.." + (first.length - 1) + ")");
        }
        long[] out = first.clone();
        out[axis] = 0;
        for (int i = 0; i < srcs.length; i++) {
            long[] s = srcs[i];
            if (s.length != first.length) {
                throw new IllegalArgumentException(name + ": concat along axis " + axis + ": source " + i + " "
                        + Arrays.toString(s) + " is " + s.length + "D, source 0 " + Arrays.toString(first) + " is "
                        + first.length + "D");
            }
            for (int d = 0; d < s.length; d++) {
                if (d != axis && s[d] != first[d]) {
                    throw new IllegalArgumentException(name + ": concat along axis " + axis + ": source " + i + " "
                            + Arrays.toString(s) + " does not match source 0 " + Arrays.toString(first)
                            + ": dimension " + d + " is " + s[d] + " vs " + first[d]);
                }
            }
            out[axis] += s[axis]; // each extent is at most MAX_DIM: the sum cannot overflow
        }
        Dims.require(name, "dst", out, "the sources' extents along axis " + axis + " summed");
        return out;
    }

    /** The forward primitive for given source layouts. */
    public static final class Forward extends PrimitiveOp {
        private final int axis;
        private final long[][] srcDims;

        private Forward(Scope scope, String name, int axis, long[][] srcDims, Primitive primitive) {
            this.axis = axis;
            this.srcDims = srcDims;
            super(scope, name, primitive);
        }

        /**
         * Creates the concatenation of {@code srcs} (concrete layouts) along {@code axis}; oneDNN chooses the
         * destination layout. Dims are checked before any native call.
         */
        public static Forward create(Scope scope, String name, int axis, MemoryDesc... srcs) {
            return createInto(scope, name, axis, null, srcs);
        }

        /**
         * Like {@link #create(Scope, String, int, MemoryDesc...)} but writing into the layout {@code dst}
         * (e.g. a dense block's preallocated buffer); a null {@code dst} lets oneDNN choose.
         */
        public static Forward createInto(Scope scope, String name, int axis, MemoryDesc dst, MemoryDesc... srcs) {
            if (srcs == null || srcs.length < 1) {
                throw new IllegalArgumentException(name + ": concat needs at least one source");
            }
            long[][] dims = new long[srcs.length][];
            for (int i = 0; i < srcs.length; i++) {
                if (srcs[i] == null) {
                    throw new IllegalArgumentException(name + ": concat source " + i + " is null (no memory descriptor)");
                }
                dims[i] = srcs[i].dims();
            }
            long[] outDims = outputDims(name, axis, dims);
            if (dst != null && !Arrays.equals(dst.dims(), outDims)) {
                throw new IllegalArgumentException(name + ": concat along axis " + axis + " gives "
                        + Arrays.toString(outDims) + ", but dst is " + Arrays.toString(dst.dims()));
            }
            for (int i = 0; i < srcs.length; i++) {
                if (srcs[i].isAny()) {
                    throw new IllegalArgumentException(name + ": concat needs concrete source layouts; source " + i + " is 'any'");
                }
            }
            Engine e = Engine.cpu();
            try (Scope tmp = Scope.open(name + ".create"); Arena a = Arena.ofConfined()) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                MemoryDesc dstDesc = dst != null ? dst : MemoryDesc.any(tmp, outDims);
                MemorySegment mds = a.allocate(ValueLayout.ADDRESS, srcs.length);
                for (int i = 0; i < srcs.length; i++) {
                    mds.setAtIndex(ValueLayout.ADDRESS, i, srcs[i].handle());
                }
                Primitive p = Primitive.create(scope, name + " (concat of " + srcs.length + " along axis " + axis + ")",
                        out -> dnnl_h.dnnl_concat_primitive_desc_create(out, e.handle(), dstDesc.handle(), srcs.length,
                                axis, mds, attr.handle()));
                return new Forward(scope, name, axis, dims, p);
            }
        }

        /** Plain row-major sources. */
        public static Forward create(Scope scope, String name, int axis, long[]... srcDims) {
            outputDims(name, axis, srcDims);
            try (Scope tmp = Scope.open(name + ".descs")) {
                MemoryDesc[] srcs = new MemoryDesc[srcDims.length];
                for (int i = 0; i < srcs.length; i++) {
                    srcs[i] = MemoryDesc.plain(tmp, srcDims[i]);
                }
                return create(scope, name, axis, srcs);
            }
        }

        public int axis() {
            return axis;
        }

        public int inputs() {
            return srcDims.length;
        }

        /** Where source {@code i} starts along the axis in the destination. */
        public long offset(int i) {
            Objects.checkIndex(i, srcDims.length);
            long o = 0;
            for (int j = 0; j < i; j++) {
                o += srcDims[j][axis];
            }
            return o;
        }

        public long[] srcDims(int i) {
            return srcDims[i].clone();
        }

        public MemoryDesc srcDesc(int i) {
            Objects.checkIndex(i, srcDims.length);
            return argDesc(Arg.MULTIPLE_SRC + i);
        }

        public MemoryDesc dstDesc() {
            return argDesc(Arg.DST);
        }

        /** Binds the destination and the sources (in order) once. */
        public ExecArgs bind(Scope scope, Tensor dst, Tensor... srcs) {
            if (srcs == null) {
                throw new IllegalArgumentException(name + ": no source tensors given (srcs is null)");
            }
            if (srcs.length != srcDims.length) {
                throw new IllegalArgumentException(name + ": concat of " + srcDims.length + " sources, got "
                        + srcs.length + " tensors");
            }
            ExecArgs.Builder b = primitive.args();
            for (int i = 0; i < srcs.length; i++) {
                b.add(Arg.MULTIPLE_SRC + i, srcs[i]);
            }
            return b.add(Arg.DST, dst).build(scope);
        }

        @Override
        public String describe() {
            return "Concat.Forward " + name + " of " + srcDims.length + " along axis " + axis;
        }
    }

    /**
     * The gradient: one reorder per source, each reading its window of {@code diff_dst} through a sub-memory
     * descriptor and writing {@code diff_src_i} in the forward source's layout.
     *
     * <p>{@code diff_dst} uses the forward destination's layout when every window starts and ends on a block
     * boundary of that layout (e.g. channel counts that are multiples of 16 in {@code nChw16c}); otherwise
     * the plain layout. {@link #diffDstDesc()} says which.
     */
    public static final class Backward extends NativeResource {
        private final String name;
        private final Scope own;
        private final MemoryDesc diffDstDesc;
        private final MemoryDesc[] windows;
        private final Reorder[] slices;

        private Backward(Scope scope, String name, Forward fwd) {
            super(scope);
            this.name = name;
            this.own = scope.child(name);
            try {
                int n = fwd.inputs();
                int axis = fwd.axis();
                MemoryDesc dst = fwd.dstDesc();
                boolean aligned = true;
                long block = dst.blockOf(axis);
                long total = dst.dim(axis);
                for (int i = 0; i < n && block > 1; i++) {
                    long o = fwd.offset(i);
                    long end = o + fwd.srcDims(i)[axis];
                    aligned &= o % block == 0 && (end % block == 0 || end == total);
                }
                this.diffDstDesc = aligned ? dst.copy(own) : dst.plainLike(own);
                this.windows = new MemoryDesc[n];
                this.slices = new Reorder[n];
                for (int i = 0; i < n; i++) {
                    long[] off = new long[dst.ndims()];
                    off[axis] = fwd.offset(i);
                    windows[i] = Layouts.submemory(own, diffDstDesc, fwd.srcDims(i), off);
                    slices[i] = Reorder.create(own, windows[i], fwd.srcDesc(i));
                }
            } catch (RuntimeException e) {
                own.close();
                throw e;
            }
            register();
        }

        public static Backward create(Scope scope, String name, Forward fwd) {
            return new Backward(scope, name, fwd);
        }

        public MemoryDesc diffDstDesc() {
            return diffDstDesc;
        }

        /** Layout of {@code diff_src_i}: the forward source's. */
        public MemoryDesc diffSrcDesc(int i) {
            return slices[i].primitive().requireArgDesc(Arg.TO);
        }

        /**
         * Binds {@code diffDst} and one gradient per source; a null entry skips that source (e.g. the block
         * input when nothing upstream needs its gradient).
         */
        public Steps bind(Scope scope, Tensor diffDst, Tensor... diffSrcs) {
            ensureOpen();
            if (diffDst == null) {
                throw new IllegalArgumentException(name + ": no diff_dst tensor given (every diff_src is a window of it)");
            }
            if (diffSrcs == null) {
                throw new IllegalArgumentException(name + ": no diff_src tensors given (diffSrcs is null; pass null"
                        + " entries to skip sources)");
            }
            if (diffSrcs.length != slices.length) {
                throw new IllegalArgumentException(name + ": concat backward has " + slices.length
                        + " sources, got " + diffSrcs.length + " gradient tensors");
            }
            if (!diffDst.desc().sameAs(diffDstDesc)) {
                throw new IllegalArgumentException(name + ": diff_dst expects " + diffDstDesc.shapeString()
                        + ", got tensor '" + diffDst.name() + "' " + diffDst.desc().shapeString());
            }
            Steps steps = Steps.open(scope, name + ".steps").guard(diffDst);
            try {
                for (int i = 0; i < slices.length; i++) {
                    if (diffSrcs[i] == null) {
                        continue;
                    }
                    Tensor window = Layouts.view(steps.own(), diffDst.name() + "[" + i + "]", diffDst, windows[i]);
                    steps.add(slices[i].primitive(), slices[i].bind(steps.own(), window, diffSrcs[i]));
                }
            } catch (RuntimeException e) {
                steps.close();
                throw e;
            }
            return steps;
        }

        public void execute(Stream stream, Steps steps) {
            ensureOpen();
            steps.execute(stream);
        }

        @Override
        public String describe() {
            return "Concat.Backward " + name + " (" + slices.length + " slices)";
        }

        @Override
        public long nativeBytes() {
            return 0;
        }

        @Override
        protected void release() {
            own.close();
        }
    }
}
