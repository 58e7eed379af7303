package dev.stride.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Safetensors headers that lie about sizes, through both readers (the mapping {@link Safetensors#open} and the
 * copy {@link Safetensors#load}): refused with an IOException naming the file, the tensor and the values.
 */
class SafetensorsHeaderTest {

    @TempDir
    Path dir;

    static String tensor(String dtype, String shape, long begin, long end) {
        return "{\"a\":{\"dtype\":\"" + dtype + "\",\"shape\":[" + shape + "],\"data_offsets\":[" + begin + "," + end + "]}}";
    }

    static Stream<Arguments> lyingHeaders() {
        return Stream.of(
                Arguments.of("count overflows long", tensor("F32", "4294967296,4294967296", 0, 0), 0,
                        "overflows a 64-bit byte count"),
                // 2^62 * 4 = 2^64: an unchecked product wraps to 0 and would match offsets [0, 0].
                Arguments.of("byte count wraps to 0", tensor("U8", "4611686018427387904,4", 0, 0), 0,
                        "overflows a 64-bit byte count"),
                Arguments.of("byte size overflows", tensor("F64", "2305843009213693952", 0, 0), 0,
                        "overflows a 64-bit byte count"),
                Arguments.of("negative dims multiply to positive", tensor("F32", "-2,-3", 0, 24), 24,
                        "negative dimension"),
                Arguments.of("end past EOF", tensor("F32", "2", 0, 9223372036854775807L), 8, "reach past the end"),
                Arguments.of("begin past EOF", tensor("F32", "2", 1000, 1008), 8, "reach past the end"),
                Arguments.of("end before begin", tensor("F32", "0", 8, 0), 8, "end >= begin"),
                Arguments.of("short data", tensor("F32", "3", 0, 12), 11, "reach past the end"),
                Arguments.of("trailing data", tensor("F32", "2", 0, 8), 9, "left over"),
                Arguments.of("offset out of long range", tensor("F32", "2", 0, 0).replace("[0,0]",
                        "[0,99999999999999999999]"), 8, "not valid JSON"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("lyingHeaders")
    void bothReadersRefuseALyingHeader(String what, String header, int dataBytes, String expected) throws IOException {
        Path file = dir.resolve(what.replace(' ', '_') + ".safetensors");
        Files.write(file, SafetensorsTest.handMade(header, new byte[dataBytes]));
        assertRefused(file, what, expected);
    }

    private static void assertRefused(Path file, String what, String expected) {
        try (Scope scope = Scope.leakChecked("lying")) {
            List<Executable> readers = List.of(() -> Safetensors.open(scope, file).close(),
                    () -> Safetensors.load(scope, file).close());
            for (Executable r : readers) {
                IOException e = assertThrows(IOException.class, r, what);
                assertTrue(e.getMessage().startsWith(file.toString()), what + ": names the file: " + e.getMessage());
                assertTrue(e.getMessage().contains(expected), what + ": " + e.getMessage());
            }
        }
    }

    @Test
    void headerLengthsThatLieAreRefused() throws IOException {
        byte[] good = SafetensorsTest.handMade(tensor("F32", "2", 0, 8), new byte[8]);
        long[] lies = {-1, 0, Long.MIN_VALUE, good.length, good.length - 8 + 1, 1L << 40};
        for (long n : lies) {
            byte[] bytes = good.clone();
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
            Path file = dir.resolve("len" + Long.toUnsignedString(n) + ".safetensors");
            Files.write(file, bytes);
            assertRefused(file, "header length " + n, "header length " + n + " does not fit");
        }
        // Shorter than it says by a few bytes: the JSON ends early.
        byte[] bytes = good.clone();
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, good.length - 8 - 8 - 3);
        Path file = dir.resolve("short-header.safetensors");
        Files.write(file, bytes);
        assertRefused(file, "short header length", "not valid JSON");
    }

    @Test
    void theCopyReadsWhatTheMappingReads() throws IOException {
        Path file = dir.resolve("ok.safetensors");
        SequencedMap<String, Safetensors.Source> m = new LinkedHashMap<>();
        m.put("w", Safetensors.Source.of(new long[] {3, 2}, new float[] {1, -2, 3.5f, Float.NaN, -0f, 7}));
        m.put("empty", Safetensors.Source.of(new long[] {0, 4}, new float[0]));
        Safetensors.write(file, m, Map.of("k", "v"));
        try (Scope scope = Scope.leakChecked("copy")) {
            Safetensors.Reader mapped = Safetensors.open(scope, file);
            Safetensors.Reader copy = Safetensors.load(scope, file);
            assertTrue(copy.checksumVerified());
            assertEquals(0, mapped.nativeBytes());
            assertEquals(Files.size(file), copy.nativeBytes());
            assertEquals(mapped.metadata(), copy.metadata());
            for (String name : List.of("w", "empty")) {
                assertArrayEquals(mapped.get(name).shape(), copy.get(name).shape());
                float[] a = mapped.floats(name);
                float[] b = copy.floats(name);
                assertEquals(a.length, b.length);
                for (int i = 0; i < a.length; i++) {
                    assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]), name + "[" + i + "]");
                }
            }
            // Zero-size tensors are legal in the format, but not as a Tensor.
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> copy.tensor(scope, "empty"));
            assertTrue(e.getMessage().contains("empty"), e.getMessage());
        }
    }
}
