package dev.stride.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** IDX files whose headers lie, raw and gzip'ed: each is refused, naming the file and the dims. */
class IdxTest {

    @TempDir
    Path dir;

    static byte[] idx(int rank, int[] dims, int dataBytes) {
        ByteBuffer bb = ByteBuffer.allocate(4 + 4 * dims.length + dataBytes);
        bb.putInt(0x800 | rank);
        for (int d : dims) {
            bb.putInt(d);
        }
        for (int i = 0; i < dataBytes; i++) {
            bb.put((byte) (i * 7));
        }
        return bb.array();
    }

    static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream z = new GZIPOutputStream(out)) {
            z.write(bytes);
        }
        return out.toByteArray();
    }

    static Stream<Arguments> lyingHeaders() {
        return Stream.of(
                // 2^22 * 2^21 * 2^21 = 2^64: an unchecked long product wraps to 0 and "needs" no data.
                Arguments.of("product wraps to 0", idx(3, new int[] {1 << 22, 1 << 21, 1 << 21}, 0),
                        "promise more than 2147483647 bytes"),
                Arguments.of("product over 2 GB", idx(3, new int[] {60000, 28000, 28}, 16),
                        "promise more than 2147483647 bytes"),
                Arguments.of("negative dim", idx(3, new int[] {2, -28, 28}, 16), "dimension 1 is -28"),
                Arguments.of("zero dim", idx(1, new int[] {0}, 0), "dimension 0 is 0"),
                Arguments.of("huge count, no data", idx(1, new int[] {Integer.MAX_VALUE}, 3), "truncated"),
                Arguments.of("short data", idx(3, new int[] {2, 3, 3}, 17), "truncated"),
                Arguments.of("trailing data", idx(3, new int[] {2, 3, 3}, 19), "holds more"),
                Arguments.of("dims cut off", new byte[] {0, 0, 8, 3, 0, 0, 0, 2, 0, 0}, "truncated IDX header"),
                Arguments.of("wrong type", new byte[] {0, 0, 0x0d, 3, 0, 0, 0, 1}, "not an unsigned-byte IDX file"),
                Arguments.of("wrong rank", idx(2, new int[] {2, 9}, 18), "IDX rank 2, expected 3"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("lyingHeaders")
    void rawAndGzippedLyingHeadersAreRefused(String what, byte[] bytes, String expected) throws IOException {
        int rank = what.equals("zero dim") || what.startsWith("huge count") ? 1 : 3;
        for (boolean gz : new boolean[] {false, true}) {
            Path file = dir.resolve(what.replace(' ', '_') + (gz ? ".gz" : ""));
            Files.write(file, gz ? gzip(bytes) : bytes);
            IOException e = assertThrows(IOException.class, () -> Idx.read(file, rank, -1), what);
            assertTrue(e.getMessage().startsWith(file.toString()), what + ": " + e.getMessage());
            assertTrue(e.getMessage().contains(expected), what + (gz ? " (gz)" : "") + ": " + e.getMessage());
        }
    }

    @Test
    void honestFilesReadWholeOrInPart() throws IOException {
        byte[] bytes = idx(3, new int[] {4, 2, 3}, 24);
        for (boolean gz : new boolean[] {false, true}) {
            Path file = dir.resolve("ok" + gz);
            Files.write(file, gz ? gzip(bytes) : bytes);
            Idx.Array all = Idx.read(file, 3, -1);
            assertArrayEquals(new int[] {4, 2, 3}, all.dims());
            assertEquals(6, all.itemSize());
            for (int i = 0; i < 24; i++) {
                assertEquals((byte) (i * 7), all.data()[i]);
            }
            Idx.Array two = Idx.read(file, 3, 2);
            assertEquals(2, two.count());
            assertEquals(12, two.data().length);
        }
    }

    @Test
    void badExpectedRankIsAnArgumentError() {
        assertThrows(IllegalArgumentException.class, () -> Idx.read(dir.resolve("x"), 0, -1));
    }
}
