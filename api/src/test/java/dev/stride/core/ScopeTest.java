package dev.stride.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ScopeTest {

    @Test
    void leakCheckedScopeReportsWhatWasLeftOpenWithSizesAndOwners() {
        Scope elsewhere = Scope.open("elsewhere");
        Scope scope = Scope.leakChecked("test");
        Tensor owned = Tensor.zeros(scope, "owned", 4);
        Tensor kept = Tensor.zeros(elsewhere, "activations", 2, 3, 4, 4);
        try (Tensor closed = Tensor.zeros(elsewhere, "closed", 8)) {
            assertEquals(32, closed.nativeBytes());
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, scope::close);
        String m = e.getMessage();
        assertTrue(m.startsWith("Memory was leaked while scope 'test' was open: 1 native resource(s), 384 bytes"), m);
        assertTrue(m.contains("Tensor 'activations' f32 [2, 3, 4, 4] abcd (384 bytes, owner scope 'elsewhere')"), m);
        assertTrue(m.contains("created at dev.stride.core.ScopeTest"), m);
        assertTrue(!m.contains("'closed'") && !m.contains("'owned'"), m);
        assertTrue(owned.isClosed(), "what the scope owns is freed, not reported");
        assertTrue(!kept.isClosed(), "a leak in another owner is reported, not freed under its owner");
        elsewhere.close();
        assertTrue(kept.isClosed());
    }

    @Test
    void leakInsideALibraryTemporaryScopeIsCaught() {
        Scope scope = Scope.leakChecked("internal");
        Scope forgotten = Scope.open("forgotten-temporary");
        MemoryDesc.plain(forgotten, 2, 2);
        IllegalStateException e = assertThrows(IllegalStateException.class, scope::close);
        assertTrue(e.getMessage().contains("MemoryDesc f32 [2, 2] ab (0 bytes, owner scope 'forgotten-temporary')"),
                e.getMessage());
        forgotten.close();
    }

    @Test
    void plainScopeFreesEverythingSilentlyNewestFirst() {
        Tensor t;
        Scope child;
        try (Scope scope = Scope.open("owner")) {
            t = Tensor.zeros(scope, "x", 16);
            child = scope.child("layer1");
            Tensor.zeros(child, "y", 4);
            assertEquals(64 + 16, scope.liveBytes());
        }
        assertTrue(t.isClosed());
        assertTrue(child.isClosed());
    }

    @Test
    void useAfterCloseThrowsNamingTheObject() {
        try (Scope scope = Scope.leakChecked("use-after-close")) {
            Tensor t = Tensor.zeros(scope, "weights", 3);
            t.close();
            t.close(); // idempotent
            IllegalStateException e = assertThrows(IllegalStateException.class, t::segment);
            assertEquals("Tensor 'weights' f32 [3] a is closed", e.getMessage());
            assertThrows(IllegalStateException.class, t::toFloatArray);
        }
    }

    @Test
    void closedScopeRefusesNewResources() {
        Scope scope = Scope.open("done");
        scope.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.zeros(scope, "late", 2));
        assertTrue(e.getMessage().contains("scope 'done' is closed"), e.getMessage());
    }

    @Test
    void countsAllocations() {
        try (Scope scope = Scope.leakChecked("count"); Tensor a = Tensor.zeros(scope, "a", 10);
                Tensor b = Tensor.zeros(scope, "b", 5)) {
            assertEquals(2, scope.allocations());
            assertEquals(60, scope.bytesAllocated());
            assertEquals(2, scope.liveCount());
            assertEquals(40, a.nativeBytes());
            assertEquals(20, b.nativeBytes());
        }
    }
}
