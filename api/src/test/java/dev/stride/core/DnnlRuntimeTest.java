package dev.stride.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.bindings.dnnl.dnnl_h;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

class DnnlRuntimeTest {

    @Test
    void infoReportsTheLoadedLibrary() {
        Dnnl.Info info = Dnnl.info();
        assertEquals(dnnl_h.DNNL_VERSION_MAJOR() + "." + dnnl_h.DNNL_VERSION_MINOR() + "." + dnnl_h.DNNL_VERSION_PATCH(),
                info.version());
        assertEquals("OpenMP", info.cpuRuntime());
        assertTrue(info.effectiveIsa() != CpuIsa.DEFAULT, "a JIT ISA is in use: " + info.effectiveIsa());
        assertTrue(info.libraryPath().endsWith("libdnnl.so.3"), info.libraryPath());
        assertTrue(info.toString().contains("oneDNN " + info.version()), info.toString());
    }

    @Test
    void threadCountKnobReachesOpenMp() {
        int before = Dnnl.threads();
        try {
            Dnnl.setThreads(1);
            assertEquals(1, Dnnl.threads());
            Dnnl.setThreads(3);
            assertEquals(3, Dnnl.threads());
        } finally {
            Dnnl.setThreads(before);
        }
        assertEquals("threads must be >= 1, got 0",
                assertThrows(IllegalArgumentException.class, () -> Dnnl.setThreads(0)).getMessage());
    }

    @Test
    void knobValuesAreValidated() {
        assertEquals(CpuIsa.AVX2, CpuIsa.parse("AVX2"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CpuIsa.parse("avx9000"));
        assertTrue(e.getMessage().startsWith("unknown CPU ISA 'avx9000'; known: default, sse41"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Dnnl.setVerbose("loud"));
        Dnnl.setVerbose("none");
    }

    @Test
    void executingWithPrebuiltArgumentsAllocatesNothing() {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (Scope scope = Scope.leakChecked("no-alloc"); Stream s = Stream.create(scope);
                MemoryDesc nhwc = MemoryDesc.of(scope, DataType.F32, FormatTag.NHWC, 1, 16, 4, 4);
                MemoryDesc plain = nhwc.plainLike(scope); Reorder r = Reorder.create(scope, plain, nhwc);
                Tensor a = Tensor.allocate(scope, "a", plain); Tensor b = Tensor.allocate(scope, "b", nhwc);
                ExecArgs args = r.bind(scope, a, b)) {
            for (int i = 0; i < 20_000; i++) { // let the JIT compile and scalar-replace the call path
                r.execute(s, args);
            }
            s.await();
            long allocationsBefore = scope.allocations();
            int liveBefore = NativeResource.liveCount();
            long heapBefore = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 10_000; i++) {
                r.execute(s, args);
            }
            s.await();
            long heapPerCall = (threads.getCurrentThreadAllocatedBytes() - heapBefore) / 10_000;
            assertEquals(allocationsBefore, scope.allocations(), "no native resource created by execute");
            assertEquals(liveBefore, NativeResource.liveCount());
            assertTrue(heapPerCall < 8, "execute allocated " + heapPerCall + " heap bytes per call");
        }
    }
}
