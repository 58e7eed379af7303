package dev.stride.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NpyTest {

    @TempDir
    Path dir;

    private static float[] iota(int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = i * 0.25f - 7;
        }
        return v;
    }

    @Test
    void mappedTensorIsTheFilesPagesNotACopy() throws IOException {
        Path file = dir.resolve("x.npy");
        Npy.write(file, new long[] {2, 3, 4, 5}, iota(120));
        try (Scope scope = Scope.leakChecked("map"); Npy.Mapped m = Npy.map(scope, file, FileChannel.MapMode.READ_WRITE)) {
            Tensor t = m.tensor();
            assertArrayEquals(new long[] {2, 3, 4, 5}, t.dims());
            assertFalse(t.ownsMemory());
            assertTrue(t.desc().isPlain());
            // The tensor's bytes start inside the mapping, at the file's data offset, cache-line aligned.
            int offset = m.header().dataOffset();
            assertEquals(0, offset % 64);
            assertEquals(m.region().address() + offset, t.segment().address());
            assertEquals(0, t.segment().address() % 64);
            assertArrayEquals(iota(120), t.toFloatArray());

            // A write to the file through another channel shows up in the tensor: same pages.
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, 99.5f), offset + 4L * 17);
            }
            assertEquals(99.5f, t.segment().getAtIndex(ValueLayout.JAVA_FLOAT, 17));
            // And a write into the tensor reaches the file.
            t.segment().setAtIndex(ValueLayout.JAVA_FLOAT, 3, -1.25f);
            assertEquals(-1.25f, Npy.readFloats(file).data()[3]);
        }
    }

    @Test
    void privateMappingIsCopyOnWrite() throws IOException {
        Path file = dir.resolve("p.npy");
        Npy.write(file, new long[] {10}, iota(10));
        byte[] before = Files.readAllBytes(file);
        try (Scope scope = Scope.leakChecked("private")) {
            Npy.Mapped m = Npy.map(scope, file);
            Tensor t = m.tensor();
            assertEquals(FileChannel.MapMode.PRIVATE, m.mode());
            assertEquals(m.region().address() + m.header().dataOffset(), t.segment().address());
            t.segment().setAtIndex(ValueLayout.JAVA_FLOAT, 0, 1234f);
            assertEquals(1234f, t.toFloatArray()[0]);
            assertArrayEquals(before, Files.readAllBytes(file), "the file is unchanged");
            m.close();
            assertThrows(IllegalStateException.class, m::tensor);
            assertThrows(IllegalStateException.class, t::segment, "closing the mapping closes its tensor");
        }
    }

    @Test
    void mapRejectsWhatCannotBeATensorInPlace() throws IOException {
        try (Scope scope = Scope.leakChecked("reject")) {
            assertThrows(NoSuchFileException.class, () -> Npy.map(scope, dir.resolve("none.npy")));
            Path f = dir.resolve("f.npy");
            Npy.write(f, new long[] {2}, new float[2]);
            assertThrows(IllegalArgumentException.class, () -> Npy.map(scope, f, FileChannel.MapMode.READ_ONLY));

            Path f8 = dir.resolve("f8.npy");
            Files.write(f8, npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16, 128));
            assertTrue(assertThrows(IOException.class, () -> Npy.map(scope, f8)).getMessage().contains("<f8"));

            // A hand-made header that puts the data at byte 127.
            Path odd = dir.resolve("odd.npy");
            Files.write(odd, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", 8, 127));
            IOException e = assertThrows(IOException.class, () -> Npy.map(scope, odd));
            assertTrue(e.getMessage().contains("not a multiple of 4"), e.getMessage());

            Path empty = dir.resolve("empty.npy");
            Npy.write(empty, new long[] {0, 3}, new float[0]);
            assertTrue(assertThrows(IOException.class, () -> Npy.map(scope, empty)).getMessage().contains("empty"));

            Path fortran = dir.resolve("fortran.npy");
            Files.write(fortran, npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16, 128));
            assertTrue(assertThrows(IOException.class, () -> Npy.map(scope, fortran)).getMessage().contains("Fortran"));

            Path truncated = dir.resolve("truncated.npy");
            Files.write(truncated, npy("{'descr': '<f4', 'fortran_order': False, 'shape': (20,), }", 16, 128));
            assertTrue(assertThrows(IOException.class, () -> Npy.map(scope, truncated)).getMessage().contains("truncated"));
        }
    }

    /** A version 1.0 file with {@code dict}, padded so the data starts at {@code dataOffset}. */
    private static byte[] npy(String dict, int dataBytes, int dataOffset) {
        String header = dict + " ".repeat(dataOffset - 10 - dict.length() - 1) + "\n";
        ByteBuffer bb = ByteBuffer.allocate(10 + header.length() + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        bb.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) header.length());
        bb.put(header.getBytes(StandardCharsets.ISO_8859_1));
        return bb.array();
    }

    @Test
    void scalarMapsAsOneElement() throws IOException {
        Path file = dir.resolve("s.npy");
        Npy.write(file, new long[] {}, new float[] {3.5f});
        assertArrayEquals(new long[] {}, Npy.readFloats(file).shape());
        try (Scope scope = Scope.leakChecked("scalar"); var m = Npy.map(scope, file)) {
            assertArrayEquals(new long[] {1}, m.tensor().dims());
            assertArrayEquals(new float[] {3.5f}, m.tensor().toFloatArray());
        }
    }

    @Test
    void writesTensorsAndSegments() throws IOException {
        Path file = dir.resolve("t.npy");
        try (Scope scope = Scope.leakChecked("write"); Tensor t = Tensor.of(scope, "t", iota(24), 2, 3, 4)) {
            Npy.write(file, t);
            Npy.Floats back = Npy.readFloats(file);
            assertArrayEquals(new long[] {2, 3, 4}, back.shape());
            assertArrayEquals(iota(24), back.data());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Npy.write(file, new long[] {5, 5}, t.segment()));
            assertTrue(e.getMessage().contains("25 values"), e.getMessage());
        }
    }

    @Test
    void npzRoundTripStoredAndDeflated() throws IOException {
        SequencedMap<String, Npy.Floats> arrays = new LinkedHashMap<>();
        arrays.put("weights", new Npy.Floats(new long[] {3, 4}, iota(12)));
        arrays.put("bias", new Npy.Floats(new long[] {3}, new float[] {Float.NaN, -0f, Float.MIN_VALUE}));
        arrays.put("scalar", new Npy.Floats(new long[] {}, new float[] {2}));
        for (boolean compressed : new boolean[] {false, true}) {
            Path file = dir.resolve("a" + compressed + ".npz");
            Npy.writeNpz(file, arrays, compressed);
            try (ZipFile zip = new ZipFile(file.toFile())) {
                List<String> names = zip.stream().map(ZipEntry::getName).toList();
                assertEquals(List.of("weights.npy", "bias.npy", "scalar.npy"), names);
                int method = compressed ? ZipEntry.DEFLATED : ZipEntry.STORED;
                assertTrue(zip.stream().allMatch(e -> e.getMethod() == method));
            }
            SequencedMap<String, Npy.Floats> back = Npy.readNpz(file);
            assertEquals(List.copyOf(arrays.keySet()), List.copyOf(back.keySet()));
            for (String k : arrays.keySet()) {
                assertArrayEquals(arrays.get(k).shape(), back.get(k).shape(), k);
                float[] want = arrays.get(k).data();
                float[] got = back.get(k).data();
                for (int i = 0; i < want.length; i++) {
                    assertEquals(Float.floatToRawIntBits(want[i]), Float.floatToRawIntBits(got[i]), k + "[" + i + "]");
                }
            }
        }
    }

    @Test
    void npzErrorsNameTheFile() throws IOException {
        Path notZip = dir.resolve("bad.npz");
        Files.write(notZip, new byte[] {1, 2, 3, 4, 5});
        IOException e = assertThrows(IOException.class, () -> Npy.readNpz(notZip));
        assertTrue(e.getMessage().contains(notZip.toString()), e.getMessage());
        assertThrows(NoSuchFileException.class, () -> Npy.readNpz(dir.resolve("missing.npz")));
    }

    @Test
    void headerOfAMappedSegmentMatchesTheByteArrayParser() throws IOException {
        Path file = dir.resolve("h.npy");
        Npy.write(file, new long[] {7, 1}, new float[7]);
        byte[] bytes = Files.readAllBytes(file);
        Npy.Header a = Npy.header(bytes, "h");
        Npy.Header b = Npy.header(MemorySegment.ofArray(bytes), "h");
        assertEquals(a.dataOffset(), b.dataOffset());
        assertArrayEquals(a.shape(), b.shape());
        assertEquals("<f4", a.dtype());
    }
}
