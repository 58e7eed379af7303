package dev.stride.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every .npy reader against files whose headers lie: each is refused with the file, the field and the values. */
class NpyHeaderTest {

    @TempDir
    Path dir;

    /** A version {@code major} file: magic, version, header length {@code declaredLen}, {@code dict}, data. */
    static byte[] npy(int major, String dict, long declaredLen, int dataBytes) {
        int start = major == 1 ? 10 : 12;
        String header = dict + " ".repeat((64 - (start + dict.length() + 1) % 64) % 64) + "\n";
        long len = declaredLen >= 0 ? declaredLen : header.length();
        ByteBuffer bb = ByteBuffer.allocate(start + header.length() + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        bb.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) {
            bb.putShort((short) len);
        } else {
            bb.putInt((int) len);
        }
        bb.put(header.getBytes(StandardCharsets.ISO_8859_1));
        for (int i = 0; i < dataBytes; i++) {
            bb.put((byte) i);
        }
        return bb.array();
    }

    static String dict(String dtype, String shape) {
        return "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': (" + shape + "), }";
    }

    static Stream<Arguments> lyingHeaders() {
        return Stream.of(
                Arguments.of("negative dims", npy(1, dict("<f4", "-2, -3"), -1, 24), "negative dimension -2 at index 0"),
                Arguments.of("one negative dim", npy(1, dict("<f4", "2, -3"), -1, 24), "negative dimension -3 at index 1"),
                Arguments.of("count overflows long", npy(1, dict("<f4", "4294967296, 4294967296"), -1, 0),
                        "overflows a 64-bit byte count"),
                Arguments.of("count wraps to 0", npy(1, dict("|u1", "4194304, 2097152, 2097152"), -1, 0),
                        "overflows a 64-bit byte count"),
                Arguments.of("byte size overflows", npy(1, dict("<f8", "2305843009213693952,"), -1, 0),
                        "overflows a 64-bit byte count"),
                Arguments.of("byte size is 2^63 exactly", npy(1, dict("<f4", "2305843009213693952,"), -1, 0),
                        "overflows a 64-bit byte count"),
                Arguments.of("huge but representable", npy(1, dict("<f4", "1000000, 1000000"), -1, 16),
                        "needs 4000000000000 data bytes, file has 16"),
                Arguments.of("short data", npy(1, dict("<f4", "2, 3"), -1, 23), "truncated"),
                Arguments.of("no data", npy(1, dict("<i8", "5,"), -1, 0), "needs 40 data bytes, file has 0"),
                Arguments.of("trailing garbage", npy(1, dict("<f4", "2, 3"), -1, 28), "4 bytes of trailing data"),
                Arguments.of("zero dim with data", npy(1, dict("<f4", "0, 3"), -1, 8), "8 bytes of trailing data"),
                Arguments.of("v1 header length past EOF", npy(1, dict("<f4", "1,"), 0xfff0, 4), "truncated header"),
                Arguments.of("v2 header length past EOF", npy(2, dict("<f4", "1,"), 0xfffffff0L, 4), "truncated header"),
                Arguments.of("v2 header length short", npy(2, dict("<f4", "1,"), 20, 4), "malformed .npy header"),
                Arguments.of("not a number", npy(1, dict("<f4", "2, x"), -1, 8), "malformed shape"),
                Arguments.of("unsupported dtype", npy(1, dict(">f4", "2,"), -1, 8), "unsupported dtype >f4"),
                Arguments.of("bad magic", "NUMPY not".getBytes(StandardCharsets.US_ASCII), "no \\x93NUMPY magic"),
                Arguments.of("v2 without its length", new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 1, 0},
                        "unsupported .npy version 2"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("lyingHeaders")
    void everyReaderRefusesALyingHeader(String what, byte[] bytes, String expected) throws IOException {
        Path file = dir.resolve(what.replaceAll("[^a-z0-9]", "_") + ".npy");
        Files.write(file, bytes);
        try (Scope scope = Scope.leakChecked("lying")) {
            List<Executable> readers = List.of(
                    () -> Npy.readFloats(file),
                    () -> Npy.readLongs(file),
                    () -> Npy.header(Files.readAllBytes(file), file.toString()),
                    () -> Npy.map(scope, file).close(),
                    () -> Npy.load(scope, file).close());
            for (Executable reader : readers) {
                IOException e = assertThrows(IOException.class, reader, what);
                assertTrue(e.getMessage().startsWith(file.toString()), what + ": names the file: " + e.getMessage());
                assertTrue(e.getMessage().contains(expected), what + ": " + e.getMessage());
            }
        }
    }

    @Test
    void npzMembersAreCheckedAndNamed() throws IOException {
        SequencedMap<String, Npy.Floats> arrays = new LinkedHashMap<>();
        arrays.put("ok", new Npy.Floats(new long[] {2}, new float[] {1, 2}));
        Path file = dir.resolve("a.npz");
        Npy.writeNpz(file, arrays, false);
        Path lying = dir.resolve("lying.npz");
        try (var zip = new java.util.zip.ZipOutputStream(Files.newOutputStream(lying))) {
            zip.putNextEntry(new java.util.zip.ZipEntry("w.npy"));
            zip.write(npy(1, dict("<f4", "-2, -3"), -1, 24));
            zip.closeEntry();
        }
        IOException e = assertThrows(IOException.class, () -> Npy.readNpz(lying));
        assertTrue(e.getMessage().startsWith(lying + "!w.npy"), e.getMessage());
        assertTrue(e.getMessage().contains("negative dimension -2"), e.getMessage());
        assertEquals(List.of("ok"), List.copyOf(Npy.readNpz(file).keySet()));
    }

    @Test
    void honestEdgeCasesStillRead() throws IOException {
        // An empty array and a scalar are legal .npy files.
        Path empty = dir.resolve("empty.npy");
        Files.write(empty, npy(1, dict("<f4", "0, 3"), -1, 0));
        assertEquals(0, Npy.readFloats(empty).data().length);
        assertArrayEquals(new long[] {0, 3}, Npy.readFloats(empty).shape());
        Path v2 = dir.resolve("v2.npy");
        Files.write(v2, npy(2, dict("<i4", "2,"), -1, 8));
        // Bytes 0..7 little-endian: 0x03020100, 0x07060504.
        assertArrayEquals(new long[] {0x03020100L, 0x07060504L}, Npy.readLongs(v2).data());
    }

    @Test
    void loadCopiesAndConvertsIntoAnOwnedTensor() throws IOException {
        float[] values = new float[70_000];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) Math.sin(i) * 100;
        }
        Path f4 = dir.resolve("f4.npy");
        Npy.write(f4, new long[] {7, 10_000}, values);
        Path i4 = dir.resolve("i4.npy");
        Files.write(i4, npy(1, dict("<i4", "2, 2"), -1, 16));
        Path scalar = dir.resolve("s.npy");
        Npy.write(scalar, new long[] {}, new float[] {-4.5f});
        try (Scope scope = Scope.leakChecked("load")) {
            Tensor t = Npy.load(scope, f4);
            assertTrue(t.ownsMemory());
            assertArrayEquals(new long[] {7, 10_000}, t.dims());
            assertArrayEquals(values, t.toFloatArray());
            assertEquals(f4.toString(), t.name());
            assertArrayEquals(Npy.readFloats(i4).data(), Npy.load(scope, i4).toFloatArray());
            assertArrayEquals(new float[] {-4.5f}, Npy.load(scope, scalar).toFloatArray());
            Path empty = dir.resolve("e.npy");
            Npy.write(empty, new long[] {0}, new float[0]);
            assertTrue(assertThrows(IOException.class, () -> Npy.load(scope, empty)).getMessage().contains("empty"));
            assertThrows(java.nio.file.NoSuchFileException.class, () -> Npy.load(scope, dir.resolve("none.npy")));
        }
    }
}
