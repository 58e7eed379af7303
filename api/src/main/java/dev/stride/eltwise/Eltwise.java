package dev.stride.eltwise;

import dev.stride.bindings.dnnl.dnnl_h;
import dev.stride.core.Algorithm;
import dev.stride.core.Arg;
import dev.stride.core.Engine;
import dev.stride.core.ExecArgs;
import dev.stride.core.MemoryDesc;
import dev.stride.core.NativeResource;
import dev.stride.core.Primitive;
import dev.stride.core.PrimitiveAttr;
import dev.stride.core.PropKind;
import dev.stride.core.Scope;
import dev.stride.core.Stream;
import dev.stride.core.Tensor;

/**
 * Element-wise functions {@code dst = f(src; alpha, beta)} (ReLU, tanh, sigmoid, ...), oneDNN's eltwise
 * primitive. The destination has the source's layout.
 */
public final class Eltwise {
    private Eltwise() {}

    /** The forward primitive for one source layout. */
    public static final class Forward extends NativeResource {
        private final String name;
        private final Primitive primitive;

        private Forward(Scope scope, String name, Primitive primitive) {
            super(scope);
            this.name = name;
            this.primitive = primitive;
            register();
        }

        /**
         * Creates {@code dst = alg(src; alpha, beta)} for sources laid out as {@code src} (a concrete layout,
         * not {@code any}); {@code mode} says whether the backward pass will follow.
         */
        public static Forward create(Scope scope, String name, MemoryDesc src, Algorithm.Eltwise alg, float alpha,
                float beta, PropKind mode) {
            if (src.isAny()) {
                throw new IllegalArgumentException(name + ": eltwise needs a concrete source layout, not 'any'");
            }
            Engine e = Engine.cpu();
            try (Scope tmp = Scope.open(name + ".create")) {
                PrimitiveAttr attr = PrimitiveAttr.create(tmp);
                int prop = mode.value();
                Primitive p = Primitive.create(scope, name + " (eltwise " + alg.label() + ")",
                        out -> dnnl_h.dnnl_eltwise_forward_primitive_desc_create(out, e.handle(), prop, alg.value(),
                                src.handle(), src.handle(), alpha, beta, attr.handle()));
                return new Forward(scope, name, p);
            }
        }

        public MemoryDesc srcDesc() {
            return primitive.requireArgDesc(Arg.SRC);
        }

        public MemoryDesc dstDesc() {
            return primitive.requireArgDesc(Arg.DST);
        }

        public Primitive primitive() {
            return primitive;
        }

        /** Binds source and destination (the same tensor for in-place) once for repeated execution. */
        public ExecArgs bind(Scope scope, Tensor src, Tensor dst) {
            return primitive.args().add(Arg.SRC, src).add(Arg.DST, dst).build(scope);
        }

        public void execute(Stream stream, ExecArgs args) {
            primitive.execute(stream, args);
        }

        @Override
        public String describe() {
            return "Eltwise.Forward " + name;
        }

        @Override
        public long nativeBytes() {
            return 0;
        }

        @Override
        protected void release() {
            primitive.close();
        }
    }
}
