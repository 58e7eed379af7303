package dev.stride.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SafetensorsTest {

    @TempDir
    Path dir;

    /** Values whose bits a careless round trip would change: NaN payloads, -0, subnormals, infinities. */
    private static float[] awkward(int n, int salt) {
        float[] v = new float[n];
        int[] special = {0x7fc00001, 0xffc12345, 0x80000000, 0x00000001, 0x007fffff, 0x7f800000, 0xff800000,
                0x7f7fffff};
        for (int i = 0; i < n; i++) {
            v[i] = i < special.length ? Float.intBitsToFloat(special[(i + salt) % special.length])
                    : (float) Math.sin(i * 0.37 + salt) * 1e3f;
        }
        return v;
    }

    private static int[] bits(float[] v) {
        int[] b = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            b[i] = Float.floatToRawIntBits(v[i]);
        }
        return b;
    }

    @Test
    void roundTripIsBitExactAndKeepsMetadataOrderAndShapes() throws IOException {
        Path file = dir.resolve("model.safetensors");
        float[] w = awkward(2 * 3 * 3 * 3, 1);
        float[] bias = awkward(2, 5);
        float[] scalar = {Float.intBitsToFloat(0x7fa00000)};
        try (Scope scope = Scope.leakChecked("roundtrip"); Arena arena = Arena.ofConfined()) {
            Tensor wt = Tensor.of(scope, "conv.weight", w, 2, 3, 3, 3);
            MemorySegment native4 = arena.allocate(16, 4);
            native4.copyFrom(MemorySegment.ofArray(new float[] {1.5f, -2.5f, 3.25f, 0f}));
            SequencedMap<String, Safetensors.Source> tensors = new LinkedHashMap<>();
            tensors.put("conv.weight", Safetensors.Source.of(wt));
            tensors.put("conv.bias", Safetensors.Source.of(new long[] {2}, bias));
            tensors.put("step", Safetensors.Source.of(new long[] {}, scalar));
            tensors.put("empty", Safetensors.Source.of(new long[] {0, 3}, new float[0]));
            tensors.put("fc.w", Safetensors.Source.of(new long[] {2, 2}, native4));
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "pt");
            meta.put("epoch", "7");
            meta.put("ключ \"quoted\"\n", "värde ✓");
            Safetensors.write(file, tensors, meta);

            long headerLen = ByteBuffer.wrap(Files.readAllBytes(file), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, (8 + headerLen) % 64, "the data section starts 64-aligned");

            try (Safetensors.Reader r = Safetensors.open(scope, file)) {
                assertTrue(r.checksumVerified());
                assertEquals(List.of("conv.weight", "conv.bias", "step", "empty", "fc.w"),
                        r.entries().stream().map(Safetensors.Entry::name).toList());
                assertEquals("pt", r.metadata().get("format"));
                assertEquals("7", r.metadata().get("epoch"));
                assertEquals("värde ✓", r.metadata().get("ключ \"quoted\"\n"));
                assertEquals(64, r.metadata().get(Safetensors.CHECKSUM_KEY).length());
                Safetensors.Entry e = r.get("conv.weight");
                assertEquals("F32", e.dtype());
                assertArrayEquals(new long[] {2, 3, 3, 3}, e.shape());
                assertTrue(e.data().isReadOnly(), "entries are views of the read-only mapping");
                assertArrayEquals(bits(w), bits(e.toFloatArray()));
                assertArrayEquals(bits(bias), bits(r.floats("conv.bias")));
                assertArrayEquals(new long[] {}, r.get("step").shape());
                assertArrayEquals(bits(scalar), bits(r.floats("step")));
                assertEquals(0, r.get("empty").data().byteSize());
                assertArrayEquals(new float[] {1.5f, -2.5f, 3.25f, 0f}, r.floats("fc.w"));
                try (Tensor copy = r.tensor(scope, "conv.weight"); Tensor into = Tensor.zeros(scope, "into", 2)) {
                    assertArrayEquals(bits(w), bits(copy.toFloatArray()));
                    assertTrue(copy.ownsMemory());
                    r.copyTo("conv.bias", into);
                    assertArrayEquals(bits(bias), bits(into.toFloatArray()));
                    IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                            () -> r.copyTo("conv.weight", into));
                    assertTrue(shape.getMessage().contains("[2, 3, 3, 3]") && shape.getMessage().contains("[2]"),
                            shape.getMessage());
                }
                IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> r.get("fc.b"));
                assertTrue(missing.getMessage().contains("no tensor 'fc.b'") && missing.getMessage().contains("fc.w"),
                        missing.getMessage());
            }
        }
    }

    @Test
    void closedReaderRefusesUseAndUnmaps() throws IOException {
        Path file = dir.resolve("a.safetensors");
        Safetensors.write(file, single("a", new float[] {1, 2, 3}), Map.of());
        try (Scope scope = Scope.leakChecked("closed")) {
            Safetensors.Reader r = Safetensors.open(scope, file);
            Safetensors.Entry e = r.get("a");
            r.close();
            assertThrows(IllegalStateException.class, () -> r.get("a"));
            assertThrows(IllegalStateException.class, e::toFloatArray, "the mapping is gone");
        }
    }

    private static SequencedMap<String, Safetensors.Source> single(String name, float[] values) {
        SequencedMap<String, Safetensors.Source> m = new LinkedHashMap<>();
        m.put(name, Safetensors.Source.of(new long[] {values.length}, values));
        return m;
    }

    private static IOException openFails(Path file) {
        try (Scope scope = Scope.leakChecked("corrupt")) {
            IOException e = assertThrows(IOException.class, () -> Safetensors.open(scope, file).close());
            assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
            return e;
        }
    }

    private Path goodFile() throws IOException {
        Path file = dir.resolve("good.safetensors");
        SequencedMap<String, Safetensors.Source> m = new LinkedHashMap<>();
        m.put("layer1.weight", Safetensors.Source.of(new long[] {4, 8}, awkward(32, 2)));
        m.put("layer1.bias", Safetensors.Source.of(new long[] {4}, awkward(4, 3)));
        Safetensors.write(file, m, Map.of("format", "pt"));
        return file;
    }

    @Test
    void truncatedFileIsAClearError() throws IOException {
        Path file = goodFile();
        long size = Files.size(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(size - 5);
        }
        IOException e = openFails(file);
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("layer1.bias"), e.getMessage());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(40);
        }
        assertTrue(openFails(file).getMessage().contains("header length"));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(3);
        }
        assertTrue(openFails(file).getMessage().contains("too short"));
    }

    @Test
    void flippedDataByteFailsTheChecksum() throws IOException {
        Path file = goodFile();
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 7] ^= 0x10;
        Files.write(file, bytes);
        IOException e = openFails(file);
        assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
        // Without verification the same file opens: the structure is intact, only a value changed.
        try (Scope scope = Scope.leakChecked("noverify"); var r = Safetensors.open(scope, file, false)) {
            assertFalse(r.checksumVerified());
        }
    }

    @Test
    void corruptedNameInTheHeaderFailsTheChecksum() throws IOException {
        Path file = goodFile();
        byte[] bytes = Files.readAllBytes(file);
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        int at = text.indexOf("layer1.bias");
        bytes[at + 5] = '7'; // still valid JSON, still a valid file: only the checksum can tell
        Files.write(file, bytes);
        assertTrue(openFails(file).getMessage().contains("checksum mismatch"));
    }

    /** A file written by hand, as PyTorch's tools would: no checksum. */
    static byte[] handMade(String headerJson, byte[] data) {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.writeBytes(h);
        out.writeBytes(data);
        return out.toByteArray();
    }

    static Stream<Arguments> malformed() {
        String t8 = "\"dtype\":\"F32\",\"shape\":[2]";
        return Stream.of(
                Arguments.of("bad JSON", "{\"a\":{" + t8 + ",\"data_offsets\":[0,8]", 8, "not valid JSON"),
                Arguments.of("trailing garbage", "{\"a\":{" + t8 + ",\"data_offsets\":[0,8]}} x", 8, "not valid JSON"),
                Arguments.of("not an object", "[1,2]", 0, "does not start with '{'"),
                Arguments.of("offsets past the end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[0,400]}}",
                        16, "reach past the end"),
                Arguments.of("negative offsets", "{\"a\":{" + t8 + ",\"data_offsets\":[-8,0]}}", 8, "begin must be >= 0"),
                Arguments.of("overlap", "{\"a\":{" + t8 + ",\"data_offsets\":[0,8]},\"b\":{" + t8
                        + ",\"data_offsets\":[4,12]}}", 12, "overlap tensor 'a'"),
                Arguments.of("gap", "{\"a\":{" + t8 + ",\"data_offsets\":[0,8]},\"b\":{" + t8
                        + ",\"data_offsets\":[12,20]}}", 20, "belong to no tensor"),
                Arguments.of("left over", "{\"a\":{" + t8 + ",\"data_offsets\":[0,8]}}", 12, "left over"),
                Arguments.of("byte count", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
                        "needs 12 bytes"),
                Arguments.of("unknown dtype", "{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                        "unknown dtype 'F33'"),
                Arguments.of("duplicate tensor", "{\"a\":{" + t8 + ",\"data_offsets\":[0,8]},\"a\":{" + t8
                        + ",\"data_offsets\":[0,8]}}", 8, "Duplicate field 'a'"),
                Arguments.of("metadata not strings", "{\"__metadata__\":{\"epoch\":3},\"a\":{" + t8
                        + ",\"data_offsets\":[0,8]}}", 8, "must be strings"),
                Arguments.of("missing field", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "lacks shape"),
                Arguments.of("extra field", "{\"a\":{" + t8 + ",\"data_offsets\":[0,8],\"x\":1}}", 8,
                        "unexpected key 'x'"),
                Arguments.of("negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
                        "negative dimension"),
                Arguments.of("three offsets", "{\"a\":{" + t8 + ",\"data_offsets\":[0,8,9]}}", 8, "expected [begin, end]"),
                Arguments.of("bad checksum text", "{\"__metadata__\":{\"stride.sha256\":\"xyz\"},\"a\":{" + t8
                        + ",\"data_offsets\":[0,8]}}", 8, "not 64 lowercase hex digits"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void malformedFilesAreClearIoExceptions(String what, String header, int dataBytes, String expected) throws IOException {
        Path file = dir.resolve(what.replace(' ', '_') + ".safetensors");
        Files.write(file, handMade(header, new byte[dataBytes]));
        IOException e = openFails(file);
        assertTrue(e.getMessage().contains(expected), what + ": " + e.getMessage());
    }

    @Test
    void headerLengthBeyondTheFileIsRejected() throws IOException {
        Path file = dir.resolve("huge.safetensors");
        byte[] bytes = handMade("{}", new byte[0]);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
        Files.write(file, bytes);
        assertTrue(openFails(file).getMessage().contains("header length 1099511627776 does not fit"));
    }

    @Test
    void fileWithoutChecksumIsAcceptedAndOtherDtypesConvert() throws IOException {
        ByteBuffer data = ByteBuffer.allocate(8 * 2 + 2 * 3 + 2 * 3 + 8 * 2 + 4 * 2 + 1).order(ByteOrder.LITTLE_ENDIAN);
        data.putDouble(0.1).putDouble(-1e300);                                    // F64 [2] at 0..16
        data.putShort((short) 0x3c00).putShort((short) 0xc000).putShort((short) 0x7bff); // F16 1, -2, 65504
        data.putShort((short) 0x3f80).putShort((short) 0xc0a0).putShort((short) 0x0001); // BF16 1, -5, tiny
        data.putLong(1L << 40).putLong(-3);                                       // I64 [2]
        data.putInt(123456789).putInt(-7);                                        // I32 [2]
        data.put((byte) 0x7f);                                                    // F8_E4M3 [1]
        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[16,22]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[22,28]},"
                + "\"l\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[28,44]},"
                + "\"i\":{\"dtype\":\"I32\",\"shape\":[1,2],\"data_offsets\":[44,52]},"
                + "\"f8\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[52,53]}}";
        Path file = dir.resolve("torch.safetensors");
        Files.write(file, handMade(header, data.array()));
        try (Scope scope = Scope.leakChecked("dtypes"); var r = Safetensors.open(scope, file)) {
            assertFalse(r.checksumVerified());
            assertEquals(Map.of("format", "pt"), r.metadata());
            assertArrayEquals(new float[] {0.1f, Float.NEGATIVE_INFINITY}, r.floats("d"));
            assertArrayEquals(new float[] {1f, -2f, 65504f}, r.floats("h"));
            assertArrayEquals(new float[] {1f, -5f, Float.intBitsToFloat(0x00010000)}, r.floats("b"));
            assertArrayEquals(new float[] {1L << 40, -3f}, r.floats("l"));
            assertArrayEquals(new float[] {123456792f, -7f}, r.floats("i"));
            try (Tensor t = r.tensor(scope, "i")) {
                assertArrayEquals(new long[] {1, 2}, t.dims());
            }
            IllegalArgumentException f8 = assertThrows(IllegalArgumentException.class, () -> r.floats("f8"));
            assertTrue(f8.getMessage().contains("F8_E4M3") && f8.getMessage().contains("not supported"));
        }
    }

    @Test
    void int64ConvertsWithOneRounding() throws IOException {
        // 2^53 + 2^29 + 1 rounds up to 2^53 + 2^30 in f32 directly, but to 2^53 through double (ties-to-even).
        long v = (1L << 53) + (1L << 29) + 1;
        ByteBuffer data = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
        Path file = dir.resolve("i64.safetensors");
        Files.write(file, handMade("{\"v\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", data.array()));
        try (Scope scope = Scope.leakChecked("i64"); var r = Safetensors.open(scope, file)) {
            assertEquals((float) v, r.floats("v")[0]);
        }
    }

    @Test
    void failedWriteLeavesThePreviousFileIntact() throws IOException {
        Path file = goodFile();
        byte[] before = Files.readAllBytes(file);
        SequencedMap<String, Safetensors.Source> m = new LinkedHashMap<>();
        m.put("layer1.weight", Safetensors.Source.of(new long[] {1 << 20}, new float[1 << 20])); // 4 MB written first
        m.put("layer1.bias", new Safetensors.Source() {
            @Override
            public long[] shape() {
                return new long[] {4};
            }

            @Override
            public MemorySegment data() {
                throw new UncheckedIOException(new IOException("source failed midway"));
            }
        });
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> Safetensors.write(file, m, Map.of("format", "pt")));
        assertEquals("source failed midway", e.getCause().getMessage());
        assertOnlyGoodFile(file, before);

        // A tensor freed before the write reaches it, and a source of the wrong size: same guarantee.
        try (Scope scope = Scope.leakChecked("closed-source")) {
            Tensor t = Tensor.zeros(scope, "t", 4);
            SequencedMap<String, Safetensors.Source> m2 = new LinkedHashMap<>();
            m2.put("big", Safetensors.Source.of(new long[] {1 << 18}, new float[1 << 18]));
            m2.put("t", Safetensors.Source.of(t));
            t.close();
            assertThrows(IllegalStateException.class, () -> Safetensors.write(file, m2, Map.of()));
        }
        assertOnlyGoodFile(file, before);
        SequencedMap<String, Safetensors.Source> m3 = new LinkedHashMap<>();
        m3.put("w", Safetensors.Source.of(new long[] {5}, new float[4]));
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
                () -> Safetensors.write(file, m3, Map.of()));
        assertTrue(size.getMessage().contains("needs 20 bytes"), size.getMessage());
        assertOnlyGoodFile(file, before);
    }

    private void assertOnlyGoodFile(Path file, byte[] before) throws IOException {
        assertArrayEquals(before, Files.readAllBytes(file));
        try (Scope scope = Scope.leakChecked("intact"); var r = Safetensors.open(scope, file)) {
            assertTrue(r.checksumVerified());
            assertArrayEquals(bits(awkward(4, 3)), bits(r.floats("layer1.bias")));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file.getFileName().toString()), files.map(p -> p.getFileName().toString()).toList(),
                    "no temporary file is left behind");
        }
    }

    @Test
    void writeReplacesAnOldCheckpoint() throws IOException {
        Path file = goodFile();
        Safetensors.write(file, single("x", new float[] {42}), Map.of());
        try (Scope scope = Scope.leakChecked("replace"); var r = Safetensors.open(scope, file)) {
            assertEquals(List.of("x"), r.entries().stream().map(Safetensors.Entry::name).toList());
            assertArrayEquals(new float[] {42}, r.floats("x"));
        }
    }

    @Test
    void badWriteArgumentsFailBeforeTouchingTheFile() {
        Path file = dir.resolve("never.safetensors");
        assertThrows(IllegalArgumentException.class, () -> Safetensors.write(file, single("a", new float[1]),
                Map.of(Safetensors.CHECKSUM_KEY, "mine")));
        assertThrows(IllegalArgumentException.class, () -> Safetensors.write(file, single("__metadata__",
                new float[1]), Map.of()));
        SequencedMap<String, Safetensors.Source> neg = new LinkedHashMap<>();
        neg.put("n", Safetensors.Source.of(new long[] {-1}, new float[0]));
        assertThrows(IllegalArgumentException.class, () -> Safetensors.write(file, neg, Map.of()));
        assertFalse(Files.exists(file));
        assertThrows(IOException.class, () -> Safetensors.write(dir.resolve("no/such/dir/x.safetensors"),
                single("a", new float[1]), Map.of()));
        assertTrue(Arrays.stream(dir.toFile().list()).noneMatch(n -> n.endsWith(".tmp")));
    }
}
