package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.io.Npy;
import dev.stride.io.Safetensors;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files written by PyTorch and NumPy ({@code tests/golden/io.py}) read by Stride. */
class IoGoldenTest {

    @TempDir
    Path dir;

    private Path golden(String name) throws Exception {
        return Path.of(getClass().getResource("/golden/io/" + name).toURI());
    }

    private static void assertBits(String what, float[] want, float[] got) {
        assertEquals(want.length, got.length, what);
        for (int i = 0; i < want.length; i++) {
            if (Float.floatToRawIntBits(want[i]) != Float.floatToRawIntBits(got[i])) {
                throw new AssertionError(what + "[" + i + "]: expected " + want[i] + " got " + got[i]);
            }
        }
    }

    @Test
    void pytorchStateDictLoadsByNameWithTorchsConversions() throws Exception {
        SequencedMap<String, Npy.Floats> expected = Npy.readNpz(golden("torch_state_expected.npz"));
        try (Scope scope = Scope.leakChecked("torch"); var r = Safetensors.open(scope, golden("torch_state.safetensors"))) {
            assertFalse(r.checksumVerified(), "a file from PyTorch has no Stride checksum and is accepted");
            assertEquals(Map.of("format", "pt"), r.metadata());
            assertEquals(new TreeSet<>(expected.keySet()),
                    new TreeSet<>(r.entries().stream().map(Safetensors.Entry::name).toList()));
            for (var e : expected.entrySet()) {
                Safetensors.Entry entry = r.get(e.getKey());
                assertArrayEquals(e.getValue().shape(), entry.shape(), e.getKey());
                assertBits(e.getKey(), e.getValue().data(), entry.toFloatArray());
            }
            assertEquals("I64", r.get("1.num_batches_tracked").dtype());
            assertEquals(List.of("F64", "F16", "BF16", "I32", "F32"),
                    List.of(r.get("extra.f64").dtype(), r.get("extra.f16").dtype(), r.get("extra.bf16").dtype(),
                            r.get("extra.i32").dtype(), r.get("extra.scalar").dtype()));
            assertEquals(1f, r.floats("1.num_batches_tracked")[0], "one training-mode forward");
            // Loading a parameter by name into a tensor of the network's shape.
            try (Tensor w = Tensor.zeros(scope, "conv1.weight", 4, 1, 3, 3)) {
                r.copyTo("0.weight", w);
                assertBits("0.weight", expected.get("0.weight").data(), w.toFloatArray());
            }
        }
    }

    private static float[] a() {
        float[] a = new float[60];
        for (int i = 0; i < 60; i++) {
            a[i] = i * 0.25f - 3f;
        }
        return a;
    }

    @Test
    void numpyCompressedNpzReads() throws Exception {
        SequencedMap<String, Npy.Floats> arrays = Npy.readNpz(golden("arrays_compressed.npz"));
        assertEquals(List.of("a", "b", "c"), List.copyOf(arrays.keySet()));
        assertArrayEquals(new long[] {3, 4, 5}, arrays.get("a").shape());
        assertBits("a", a(), arrays.get("a").data());
        float[] b = new float[6];
        for (int i = 0; i < 6; i++) {
            b[i] = (float) (i / 3.0);
        }
        assertArrayEquals(new long[] {2, 3}, arrays.get("b").shape());
        assertBits("b", b, arrays.get("b").data());
        assertBits("c", new float[] {-3, -2, -1, 0, 1, 2, 3, 4}, arrays.get("c").data());
    }

    @Test
    void numpySavedNpyMapsInPlace() throws Exception {
        Path file = Files.copy(golden("mapped.npy"), dir.resolve("mapped.npy"));
        try (Scope scope = Scope.leakChecked("map"); Npy.Mapped m = Npy.map(scope, file)) {
            Tensor t = m.tensor();
            assertArrayEquals(new long[] {3, 4, 5}, t.dims());
            assertEquals(0, m.header().dataOffset() % 64, "numpy aligns the data to 64 bytes");
            assertEquals(m.region().address() + m.header().dataOffset(), t.segment().address());
            assertTrue(!t.ownsMemory());
            assertBits("mapped", a(), t.toFloatArray());
        }
    }
}
