package dev.stride.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.bindings.dnnl.dnnl_h;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class ErrorMappingTest {

    @Test
    void invalidArgumentReachingOneDnnIsADnnlExceptionWithStatusOperationAndHint() {
        try (Scope scope = Scope.leakChecked("errors"); MemoryDesc src = MemoryDesc.plain(scope, 2, 8)) {
            DnnlException e = assertThrows(DnnlException.class, () -> PrimitiveDesc.create(scope, "bogus eltwise",
                    out -> dnnl_h.dnnl_eltwise_forward_primitive_desc_create(out, Engine.cpu().handle(),
                            dnnl_h.dnnl_forward_training(), 0x7777 /* no such algorithm */, src.handle(),
                            src.handle(), 0f, 0f, MemorySegment.NULL)));
            assertEquals(dnnl_h.dnnl_invalid_arguments(), e.status());
            assertEquals("invalid_arguments", e.statusName());
            assertEquals("create bogus eltwise primitive descriptor", e.operation());
            assertTrue(e.getMessage().contains("ONEDNN_VERBOSE=all"), e.getMessage());
            assertEquals(1, scope.liveCount(), "a failed creation leaves nothing behind");
        }
    }

    @Test
    void statusNamesComeFromOneDnn() {
        assertEquals("success", Dnnl.statusName(dnnl_h.dnnl_success()));
        assertEquals("unimplemented", Dnnl.statusName(dnnl_h.dnnl_unimplemented()));
        Dnnl.check(dnnl_h.dnnl_success(), "nothing");
        DnnlException e = assertThrows(DnnlException.class, () -> Dnnl.check(dnnl_h.dnnl_out_of_memory(), "allocate"));
        assertEquals("out_of_memory", e.statusName());
    }

    @Test
    void closedTensorPassedToAPrimitiveThrowsInsteadOfCrashing() {
        try (Scope scope = Scope.leakChecked("closed-arg"); Stream s = Stream.create(scope);
                MemoryDesc nhwc = MemoryDesc.of(scope, DataType.F32, FormatTag.NHWC, 1, 16, 2, 2);
                Tensor dst = Tensor.allocate(scope, "dst", nhwc);
                Reorder r = Reorder.create(scope, dst.desc().plainLike(scope), nhwc)) {
            Tensor src = Tensor.zeros(scope, "src", 1, 16, 2, 2);
            ExecArgs args = r.bind(scope, src, dst);
            r.execute(s, args);
            src.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.execute(s, args));
            assertTrue(e.getMessage().contains("(DNNL_ARG_SRC): Tensor 'src' f32 [1, 16, 2, 2] abcd is closed"),
                    e.getMessage());
            IllegalStateException atBind = assertThrows(IllegalStateException.class, () -> r.bind(scope, src, dst));
            assertTrue(atBind.getMessage().contains("is closed"), atBind.getMessage());
            args.close();
            assertThrows(IllegalStateException.class, () -> r.execute(s, args));
        }
    }

    @Test
    void wrappedMemoryFreedByItsOwnerNeverReachesOneDnn() {
        try (Scope scope = Scope.leakChecked("freed"); Stream s = Stream.create(scope);
                MemoryDesc d = MemoryDesc.plain(scope, 1, 16, 2, 2);
                MemoryDesc nhwc = MemoryDesc.of(scope, DataType.F32, FormatTag.NHWC, 1, 16, 2, 2);
                Reorder r = Reorder.create(scope, d, nhwc); Tensor dst = Tensor.allocate(scope, "dst", nhwc)) {
            java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared();
            try (Tensor src = Tensor.wrap(scope, "mapped", d, arena.allocate(d.byteSize(), 64));
                    ExecArgs args = r.bind(scope, src, dst)) {
                r.execute(s, args);
                arena.close();
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.execute(s, args));
                assertTrue(e.getMessage().contains("the memory wrapped by Tensor 'mapped'") && e.getMessage().contains("was freed"),
                        e.getMessage());
            }
        }
    }

    @Test
    void wrongLayoutAtBindTimeNamesExpectedAndActual() {
        try (Scope scope = Scope.leakChecked("layout"); MemoryDesc nhwc = MemoryDesc.of(scope, DataType.F32, FormatTag.NHWC, 1, 16, 2, 2);
                MemoryDesc plain = nhwc.plainLike(scope); Reorder r = Reorder.create(scope, plain, nhwc);
                Tensor a = Tensor.allocate(scope, "a", plain); Tensor wrong = Tensor.zeros(scope, "wrong", 1, 16, 2, 3)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> r.bind(scope, a, a));
            assertTrue(e.getMessage().contains("DNNL_ARG_DST expects f32 [1, 16, 2, 2] acdb, got tensor 'a' f32 [1, 16, 2, 2] abcd"),
                    e.getMessage());
            IllegalArgumentException dims = assertThrows(IllegalArgumentException.class, () -> r.bind(scope, wrong, a));
            assertTrue(dims.getMessage().contains("DNNL_ARG_SRC expects f32 [1, 16, 2, 2] abcd, got tensor 'wrong' f32 [1, 16, 2, 3]"),
                    dims.getMessage());
        }
    }

    @Test
    void closedStreamAndPrimitiveThrow() {
        try (Scope scope = Scope.leakChecked("closed"); MemoryDesc d = MemoryDesc.plain(scope, 4)) {
            Stream s = Stream.create(scope);
            Reorder r = Reorder.create(scope, d, d);
            try (Tensor a = Tensor.zeros(scope, "a", 4); Tensor b = Tensor.zeros(scope, "b", 4); ExecArgs args = r.bind(scope, a, b)) {
                s.close();
                assertThrows(IllegalStateException.class, () -> r.execute(s, args));
                r.close();
                try (Stream s2 = Stream.create(scope)) {
                    IllegalStateException e = assertThrows(IllegalStateException.class, () -> r.execute(s2, args));
                    assertTrue(e.getMessage().endsWith("is closed"), e.getMessage());
                }
            }
        }
    }
}
