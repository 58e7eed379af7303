package dev.stride.io;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.testing.ChildJvm;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file truncated on disk while mapped: Java reads through Stride throw an exception naming the file, and the
 * copying readers ({@link Npy#load}, {@link Safetensors#load}) do not care. Runs in a child JVM: if a read
 * slipped through as SIGBUS, it would kill the JVM.
 */
class MappedTruncationTest {

    @TempDir
    Path dir;

    private static final int N = 64 * 1024; // 256 KB of f32: many pages past the cut

    @Test
    void truncatedMappingsFailClearlyAndCopiesSurvive() throws Exception {
        ChildJvm.Result r = ChildJvm.run(MappedTruncationTest.class, 60, dir.toString());
        assertFalse(r.crashed(), "the child JVM crashed:\n" + r.output());
        assertTrue(r.exitCode() == 0 && r.output().contains("ALL OK"), r.output());
    }

    private static float[] values() {
        float[] v = new float[N];
        for (int i = 0; i < N; i++) {
            v[i] = i * 0.5f - 3;
        }
        return v;
    }

    private static void truncate(Path file, long size) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size);
        }
    }

    private static void expect(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    /** The child: prints what each read did and "ALL OK" when all behaved; any failure is an exception. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        float[] want = values();
        try (Scope scope = Scope.open("child")) {
            Path npy = dir.resolve("w.npy");
            Npy.write(npy, new long[] {N}, want);
            Npy.Mapped m = Npy.map(scope, npy);
            Tensor mapped = m.tensor();
            Tensor copy = Npy.load(scope, npy);
            truncate(npy, 4096);

            IllegalStateException e = thrown(mapped::toFloatArray);
            System.out.println("npy toFloatArray: " + e.getMessage());
            expect(e.getMessage().contains(npy.toString()) && e.getMessage().contains("faulted"), e.getMessage());
            e = thrown(m::tensor);
            System.out.println("npy tensor(): " + e.getMessage());
            expect(e.getMessage().contains(npy.toString()) && e.getMessage().contains("shrank"), e.getMessage());
            expect(Arrays.equals(want, copy.toFloatArray()), "Npy.load's copy changed");
            m.close();

            Path st = dir.resolve("w.safetensors");
            SequencedMap<String, Safetensors.Source> tensors = new LinkedHashMap<>();
            tensors.put("w", Safetensors.Source.of(new long[] {N}, want));
            Safetensors.write(st, tensors, Map.of());
            Safetensors.Reader open = Safetensors.open(scope, st);
            Safetensors.Reader load = Safetensors.load(scope, st);
            truncate(st, 4096);
            e = thrown(() -> open.floats("w"));
            System.out.println("safetensors floats: " + e.getMessage());
            expect(e.getMessage().contains(st.toString()) && e.getMessage().contains("'w'")
                    && e.getMessage().contains("truncated"), e.getMessage());
            e = thrown(() -> open.tensor(scope, "w"));
            expect(e.getMessage().contains(st.toString()), e.getMessage());
            expect(Arrays.equals(want, load.floats("w")), "Safetensors.load's copy changed");
            expect(Arrays.equals(want, load.tensor(scope, "w").toFloatArray()), "Safetensors.load's tensor");
        }
        System.out.println("ALL OK");
    }

    private static IllegalStateException thrown(Runnable r) {
        try {
            r.run();
        } catch (IllegalStateException e) {
            return e;
        }
        throw new AssertionError("expected an IllegalStateException");
    }
}
