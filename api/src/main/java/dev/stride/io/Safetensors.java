package dev.stride.io;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import dev.stride.core.DataType;
import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;

/**
 * The <a href="https://github.com/huggingface/safetensors">safetensors</a> format, in which PyTorch users
 * exchange weights: an 8-byte little-endian header length {@code N}, {@code N} bytes of JSON
 * {@code {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}}, then the
 * data section, every tensor's bytes row-major and little-endian at {@code [begin, end)} of it, with no gaps.
 *
 * <p>Reading ({@link #open}) memory-maps the file and hands each tensor out as a zero-copy slice of the
 * mapping; everything is validated before the reader is returned. Writing ({@link #write}) is atomic (see
 * {@link AtomicFile}) and stores a checksum under {@value #CHECKSUM_KEY} in the metadata, which {@link #open}
 * verifies when present; files from other writers (PyTorch, the {@code safetensors} package) have none and are
 * accepted. Any problem with a file is an {@link IOException} that names the file and what is wrong.
 *
 * <p>The checksum is SHA-256, as 64 lowercase hex digits, of, in this order: the string
 * {@code "stride-safetensors-sha256-v1"}; the number of tensors, then each tensor's header entry in data order
 * (by {@code begin}, then {@code end}, then name) as name, dtype, rank, the dims, begin, end; the number of
 * other metadata entries, then each (sorted by the key's UTF-8 bytes) as key, value; and finally the whole data
 * section. A string enters as its UTF-8 length (4 bytes, little-endian) and bytes, a number as 8 bytes,
 * little-endian. Covering the header too means a corrupted tensor name or shape is caught, not only a corrupted
 * value.
 *
 * <p>Thread-safe: static functions; a {@code Reader} is read-only and may be read from any thread until closed.
 */
public final class Safetensors {
    private Safetensors() {}

    /** Metadata key of the checksum Stride writes and verifies. */
    public static final String CHECKSUM_KEY = "stride.sha256";

    /** The safetensors library's own bound on the header (100 MB); beyond it a length is corruption. */
    static final long MAX_HEADER = 100_000_000L;

    private static final String METADATA = "__metadata__";
    private static final String DIGEST_DOMAIN = "stride-safetensors-sha256-v1";
    private static final byte[] PLACEHOLDER = "0".repeat(64).getBytes(StandardCharsets.US_ASCII);
    /** Every header Stride writes starts so, which puts the checksum's digits at a known place. */
    private static final String HEADER_START = "{\"" + METADATA + "\":{\"" + CHECKSUM_KEY + "\":\"";
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
    private static final int CHUNK = 1 << 20;

    /** Element types of the format and their sizes; {@code null} size: known but not convertible here. */
    private static int dtypeSize(String dtype) {
        return switch (dtype) {
            case "BOOL", "U8", "I8", "F8_E4M3", "F8_E5M2" -> 1;
            case "I16", "U16", "F16", "BF16" -> 2;
            case "I32", "U32", "F32" -> 4;
            case "I64", "U64", "F64" -> 8;
            default -> -1;
        };
    }

    /**
     * One tensor of a file: its header entry and its bytes, a read-only slice of the mapped file (valid while
     * the {@link Reader} is open; afterwards any access throws {@link IllegalStateException}).
     */
    public record Entry(String name, String dtype, long[] shape, MemorySegment data) {
        /** Number of elements: the product of the shape (1 for a scalar, shape {@code []}). */
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }

        /** True when {@link #copyTo} can convert this dtype to f32 (all but {@code U64} and the 8-bit floats). */
        public boolean convertsToF32() {
            return switch (dtype) {
                case "F32", "F64", "F16", "BF16", "I64", "I32", "U32", "I16", "U16", "I8", "U8", "BOOL" -> true;
                default -> false;
            };
        }

        /**
         * The values as floats, converted from the stored type (see {@link #copyTo}).
         *
         * @throws IllegalStateException when the tensor has more elements than a Java array holds (copy it into
         *     a tensor instead), or as {@link #copyTo}
         */
        public float[] toFloatArray() {
            long n = elements();
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalStateException("tensor '" + name + "' " + Arrays.toString(shape) + " has " + n
                        + " elements, more than a Java array holds; copy it into a Tensor instead");
            }
            float[] out = new float[(int) n];
            copyTo(MemorySegment.ofArray(out));
            return out;
        }

        /**
         * Writes the values into {@code dst} as f32 in native (little-endian) order, converting from
         * {@code F32, F64, F16, BF16, I64, I32, I16, I8, U8, U16, U32, BOOL}. {@code dst} must hold exactly
         * {@code elements()} floats.
         *
         * @throws IllegalArgumentException for {@code U64} and the 8-bit float types, or a {@code dst} of the
         *     wrong size
         * @throws IllegalStateException when the bytes cannot be read because the file was truncated on disk
         *     while {@linkplain #open mapped}
         */
        public void copyTo(MemorySegment dst) {
            try {
                convertTo(dst);
            } catch (InternalError e) {
                // The JVM's report of SIGBUS in a Java read of a mapping whose file shrank.
                throw new IllegalStateException("tensor '" + name + "': reading its bytes faulted (" + e.getMessage()
                        + "): the safetensors file was truncated on disk while mapped; open it with Safetensors.load "
                        + "to work on a copy", e);
            }
        }

        private void convertTo(MemorySegment dst) {
            long n = elements();
            if (dst.byteSize() != n * 4) {
                throw new IllegalArgumentException("tensor '" + name + "' " + Arrays.toString(shape) + " has " + n
                        + " elements (" + n * 4 + " bytes as f32); the destination has " + dst.byteSize() + " bytes");
            }
            if (dtype.equals("F32")) {
                MemorySegment.copy(data, 0, dst, 0, n * 4);
                return;
            }
            // One switch per tensor, not per element.
            ElementReader value = switch (dtype) {
                case "F64" -> i -> (float) data.getAtIndex(LE_DOUBLE, i);
                case "F16" -> i -> Float.float16ToFloat(data.getAtIndex(LE_SHORT, i));
                // bfloat16 is the upper half of an f32.
                case "BF16" -> i -> Float.intBitsToFloat(data.getAtIndex(LE_SHORT, i) << 16);
                case "I64" -> i -> data.getAtIndex(LE_LONG, i);
                case "I32" -> i -> data.getAtIndex(LE_INT, i);
                case "U32" -> i -> Integer.toUnsignedLong(data.getAtIndex(LE_INT, i));
                case "I16" -> i -> data.getAtIndex(LE_SHORT, i);
                case "U16" -> i -> Short.toUnsignedInt(data.getAtIndex(LE_SHORT, i));
                case "I8" -> i -> data.get(ValueLayout.JAVA_BYTE, i);
                case "U8", "BOOL" -> i -> Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, i));
                default -> throw new IllegalArgumentException("tensor '" + name + "' is " + dtype
                        + ": conversion to f32 is not supported (supported: F32, F64, F16, BF16, I64, I32, I16, I8, "
                        + "U8, U16, U32, BOOL)");
            };
            for (long i = 0; i < n; i++) {
                dst.setAtIndex(LE_FLOAT, i, value.get(i));
            }
        }

        @Override
        public String toString() {
            return name + " " + dtype + Arrays.toString(shape);
        }
    }

    /** Element {@code i} of a stored tensor as f32, rounded once (no detour through double for I64). */
    private interface ElementReader {
        float get(long i);
    }

    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble LE_DOUBLE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static {
        // Tensors hold f32 in native order and are written as they are: the format is little-endian.
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new ExceptionInInitializerError("safetensors I/O assumes a little-endian platform");
        }
    }

    // ---------------------------------------------------------------------------------------------- reading

    /** Opens and validates {@code file}, verifying its checksum when it has one. */
    public static Reader open(Scope scope, Path file) throws IOException {
        return open(scope, file, true);
    }

    /**
     * Like {@link #open(Scope, Path)}, but reads the whole file into memory the reader owns instead of mapping
     * it: the file may then be changed or truncated on disk while the reader is in use, which a mapping does not
     * survive (see {@link #open(Scope, Path, boolean)}). Costs the file's size in memory until the reader closes.
     */
    public static Reader load(Scope scope, Path file) throws IOException {
        return open(scope, file, true, true);
    }

    /**
     * Memory-maps {@code file} (read-only) and validates it: the header length lies inside the file, the
     * header is well-formed JSON of the expected shape, every dtype is known, each tensor's byte range equals
     * {@code product(shape) * dtype size}, and the ranges tile the data section exactly (contiguous, no overlap,
     * no gap, nothing past the end or left over). With {@code verifyChecksum}, a {@value #CHECKSUM_KEY} in the
     * metadata is then checked against the contents (this reads the whole file once).
     *
     * <p><b>The file must not shrink while the reader is open:</b> entries are the file's pages, read on
     * demand, and the pages past a new end of the file are gone. Reading such an entry through
     * {@link Entry#copyTo} (and everything built on it) throws {@link IllegalStateException}; native code reading
     * them would kill the JVM. Replacing the file by a rename (as {@link #write} does) is safe. Use
     * {@link #load} when the file may be truncated while in use.
     *
     * @return a reader owned by {@code scope}; closing it unmaps the file
     * @throws IOException naming the file and the problem, for any of the above
     */
    public static Reader open(Scope scope, Path file, boolean verifyChecksum) throws IOException {
        return open(scope, file, verifyChecksum, false);
    }

    private static Reader open(Scope scope, Path file, boolean verifyChecksum, boolean copy) throws IOException {
        Arena arena = Arena.ofShared();
        Parsed parsed;
        Reader reader;
        try {
            MemorySegment map;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                long size = ch.size();
                if (size < 8) {
                    throw new IOException(file + ": not a safetensors file: " + size
                            + " bytes, too short for the 8-byte header length");
                }
                map = copy ? readFully(ch, size, arena, file) : ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            } catch (NoSuchFileException e) {
                throw new NoSuchFileException(file.toString(), null, "safetensors file not found");
            }
            parsed = parse(file, map);
            reader = new Reader(scope, file, arena, map, parsed);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
        // From here on the reader owns the mapping.
        if (verifyChecksum && parsed.metadata.containsKey(CHECKSUM_KEY)) {
            try {
                reader.verify();
            } catch (IOException | RuntimeException e) {
                reader.close();
                throw e;
            } catch (InternalError e) {
                reader.close();
                throw new IOException(file + ": reading the mapped file faulted (" + e.getMessage() + "): it was "
                        + "truncated on disk while being checked", e);
            }
        }
        return reader;
    }

    /** The whole file, copied into {@code arena}'s memory. */
    private static MemorySegment readFully(FileChannel ch, long size, Arena arena, Path file) throws IOException {
        MemorySegment dst = arena.allocate(size, 64);
        for (long off = 0; off < size; ) {
            ByteBuffer chunk = dst.asSlice(off, Math.min(CHUNK, size - off)).asByteBuffer();
            while (chunk.hasRemaining()) {
                if (ch.read(chunk, off + chunk.position()) < 0) {
                    throw new IOException(file + ": the file shrank while it was read (" + size + " bytes when opened)");
                }
            }
            off += chunk.capacity();
        }
        return dst;
    }

    /** A parsed header entry, before it is bound to the mapping. */
    private record Info(String name, String dtype, long[] shape, long begin, long end) {}

    private record Parsed(List<Info> tensors, Map<String, String> metadata, long dataStart) {}

    private static Parsed parse(Path file, MemorySegment map) throws IOException {
        long size = map.byteSize();
        long n = map.get(LE_LONG, 0);
        if (n <= 0 || n > size - 8) {
            throw new IOException(file + ": corrupted or truncated: header length " + n + " does not fit in the file ("
                    + size + " bytes, so at most " + (size - 8) + ")");
        }
        if (n > MAX_HEADER) {
            throw new IOException(file + ": header length " + n + " exceeds the format's limit of " + MAX_HEADER
                    + " bytes");
        }
        byte[] header = map.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
        if (header[0] != '{') {
            throw new IOException(file + ": header does not start with '{' (byte 0x"
                    + Integer.toHexString(header[0] & 0xff) + "): not a safetensors file");
        }
        List<Info> tensors = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        try (JsonParser p = JSON.createParser(header)) {
            p.nextToken();
            for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
                String key = p.currentName();
                JsonToken value = p.nextToken();
                if (value != JsonToken.START_OBJECT) {
                    throw bad(file, p, "entry '" + key + "' is " + value + ", expected an object");
                }
                if (key.equals(METADATA)) {
                    for (JsonToken m = p.nextToken(); m != JsonToken.END_OBJECT; m = p.nextToken()) {
                        String mk = p.currentName();
                        if (p.nextToken() != JsonToken.VALUE_STRING) {
                            throw bad(file, p, "metadata '" + mk + "' is " + p.currentToken() + "; metadata values "
                                    + "must be strings");
                        }
                        metadata.put(mk, p.getText());
                    }
                } else {
                    tensors.add(tensorInfo(file, p, key));
                }
            }
            if (p.nextToken() != null) {
                throw bad(file, p, "unexpected " + p.currentToken() + " after the header object");
            }
        } catch (JsonProcessingException e) {
            throw new IOException(file + ": header is not valid JSON: " + e.getOriginalMessage() + " (at byte "
                    + (8 + e.getLocation().getByteOffset()) + " of the file)", e);
        }
        long dataStart = 8 + n;
        long dataLength = size - dataStart;
        for (Info t : tensors) {
            int item = dtypeSize(t.dtype);
            if (item < 0) {
                throw new IOException(file + ": tensor '" + t.name + "' has unknown dtype '" + t.dtype + "'");
            }
            long bytes = item;
            for (long d : t.shape) {
                if (d < 0) {
                    throw new IOException(file + ": tensor '" + t.name + "' has a negative dimension in shape "
                            + Arrays.toString(t.shape));
                }
                try {
                    bytes = Math.multiplyExact(bytes, d);
                } catch (ArithmeticException e) {
                    throw new IOException(file + ": tensor '" + t.name + "' shape " + Arrays.toString(t.shape)
                            + " overflows a 64-bit byte count");
                }
            }
            if (t.begin < 0 || t.end < t.begin) {
                throw new IOException(file + ": tensor '" + t.name + "' has data_offsets [" + t.begin + ", " + t.end
                        + "]: begin must be >= 0 and end >= begin");
            }
            if (t.end > dataLength) {
                throw new IOException(file + ": corrupted or truncated: tensor '" + t.name + "' data_offsets ["
                        + t.begin + ", " + t.end + "] reach past the end of the data section (" + dataLength
                        + " bytes)");
            }
            if (t.end - t.begin != bytes) {
                throw new IOException(file + ": tensor '" + t.name + "' " + t.dtype + Arrays.toString(t.shape)
                        + " needs " + bytes + " bytes but its data_offsets [" + t.begin + ", " + t.end + "] span "
                        + (t.end - t.begin));
            }
        }
        List<Info> ordered = new ArrayList<>(tensors);
        ordered.sort(DATA_ORDER);
        long expected = 0;
        Info previous = null;
        for (Info t : ordered) {
            if (t.begin < expected) {
                throw new IOException(file + ": tensor '" + t.name + "' data_offsets [" + t.begin + ", " + t.end
                        + "] overlap tensor '" + previous.name + "' [" + previous.begin + ", " + previous.end + "]");
            }
            if (t.begin > expected) {
                throw new IOException(file + ": bytes [" + expected + ", " + t.begin + ") of the data section belong "
                        + "to no tensor (before tensor '" + t.name + "'): offsets must be contiguous");
            }
            expected = t.end;
            previous = t;
        }
        if (expected != dataLength) {
            throw new IOException(file + ": the data section has " + dataLength + " bytes but the tensors cover "
                    + expected + ": " + (dataLength - expected) + " bytes are left over at the end");
        }
        return new Parsed(List.copyOf(ordered), Collections.unmodifiableMap(metadata), dataStart);
    }

    private static final Comparator<Info> DATA_ORDER = Comparator.comparingLong(Info::begin)
            .thenComparingLong(Info::end).thenComparing(Info::name);

    private static Info tensorInfo(Path file, JsonParser p, String name) throws IOException {
        String dtype = null;
        long[] shape = null;
        long[] offsets = null;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_OBJECT; t = p.nextToken()) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (v != JsonToken.VALUE_STRING) {
                        throw bad(file, p, "tensor '" + name + "': dtype is " + v + ", expected a string");
                    }
                    dtype = p.getText();
                }
                case "shape" -> shape = longs(file, p, name, "shape");
                case "data_offsets" -> {
                    offsets = longs(file, p, name, "data_offsets");
                    if (offsets.length != 2) {
                        throw bad(file, p, "tensor '" + name + "': data_offsets has " + offsets.length
                                + " numbers, expected [begin, end]");
                    }
                }
                default -> throw bad(file, p, "tensor '" + name + "' has an unexpected key '" + field
                        + "' (expected dtype, shape, data_offsets)");
            }
        }
        if (dtype == null || shape == null || offsets == null) {
            throw bad(file, p, "tensor '" + name + "' lacks " + (dtype == null ? "dtype" : shape == null ? "shape"
                    : "data_offsets"));
        }
        return new Info(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] longs(Path file, JsonParser p, String name, String field) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw bad(file, p, "tensor '" + name + "': " + field + " is " + p.currentToken()
                    + ", expected an array of integers");
        }
        long[] out = new long[4];
        int k = 0;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t != JsonToken.VALUE_NUMBER_INT) {
                throw bad(file, p, "tensor '" + name + "': " + field + " holds " + t + ", expected integers");
            }
            if (k == out.length) {
                out = Arrays.copyOf(out, k * 2);
            }
            out[k++] = p.getLongValue();
        }
        return Arrays.copyOf(out, k);
    }

    private static IOException bad(Path file, JsonParser p, String what) {
        return new IOException(file + ": malformed header: " + what + " (at byte "
                + (8 + p.currentLocation().getByteOffset()) + " of the file)");
    }

    /**
     * An open, validated safetensors file. Entries are read-only slices of the mapping ({@link #open}) or of
     * the reader's copy of the file ({@link #load}), valid until {@link #close()} (which unmaps or frees it).
     * Owned by the scope it was opened in.
     */
    public static final class Reader extends NativeResource {
        private final Path file;
        private final Arena arena;
        private final MemorySegment map;
        private final Parsed parsed;
        private final long ownedBytes;
        private final SequencedMap<String, Entry> entries = new LinkedHashMap<>();
        private boolean verified;

        private Reader(Scope scope, Path file, Arena arena, MemorySegment map, Parsed parsed) {
            super(scope);
            this.file = file;
            this.arena = arena;
            this.map = map;
            this.parsed = parsed;
            this.ownedBytes = map.isMapped() ? 0 : map.byteSize();
            MemorySegment data = map.asSlice(parsed.dataStart).asReadOnly();
            for (Info t : parsed.tensors) {
                entries.put(t.name, new Entry(t.name, t.dtype, t.shape, data.asSlice(t.begin, t.end - t.begin)));
            }
            register();
        }

        public Path file() {
            return file;
        }

        /** The {@code __metadata__} strings, the checksum included when there is one. */
        public Map<String, String> metadata() {
            ensureOpen();
            return parsed.metadata;
        }

        /** Every tensor, in the order of its bytes in the file. */
        public List<Entry> entries() {
            ensureOpen();
            return List.copyOf(entries.values());
        }

        public boolean contains(String name) {
            ensureOpen();
            return entries.containsKey(name);
        }

        /**
         * The tensor called {@code name}.
         *
         * @throws IllegalArgumentException naming the tensors the file has, when it has no such tensor
         */
        public Entry get(String name) {
            ensureOpen();
            Entry e = entries.get(name);
            if (e == null) {
                throw new IllegalArgumentException(file + " has no tensor '" + name + "'; it has " + entries.keySet());
            }
            return e;
        }

        /** True when the file carried a checksum and it matched (false for files without one). */
        public boolean checksumVerified() {
            ensureOpen();
            return verified;
        }

        /** The values of {@code name} as floats (converted, see {@link Entry#copyTo}). */
        public float[] floats(String name) {
            Entry e = get(name);
            try {
                return e.toFloatArray();
            } catch (IllegalStateException ex) {
                throw inFile(ex);
            }
        }

        /** Entries do not know their file; add it to what they throw. */
        private IllegalStateException inFile(IllegalStateException e) {
            return new IllegalStateException(file + ": " + e.getMessage(), e);
        }

        /**
         * A new plain f32 tensor in {@code scope} holding a copy of {@code name} (converted from its dtype).
         * A copy, not a view: the mapping is read-only, and a oneDNN primitive that wrote into it would crash.
         * A scalar becomes a 1-element tensor.
         */
        public Tensor tensor(Scope scope, String name) {
            Entry e = get(name);
            if (e.elements() == 0) {
                throw new IllegalArgumentException(file + ": tensor '" + name + "' " + Arrays.toString(e.shape)
                        + " is empty; a Tensor needs every dimension positive");
            }
            long[] dims = e.shape.length == 0 ? new long[] {1} : e.shape;
            Tensor t = Tensor.zeros(scope, name, dims);
            try {
                e.copyTo(t.segment());
            } catch (IllegalStateException ex) {
                t.close();
                throw inFile(ex);
            } catch (RuntimeException ex) {
                t.close();
                throw ex;
            }
            return t;
        }

        /**
         * Copies {@code name} into the plain f32 tensor {@code dst} (loading a state dict by parameter name),
         * after checking that the shapes agree ({@code []} and {@code [1]} count as the same).
         *
         * @throws IllegalArgumentException when the file has no such tensor, the shapes differ or {@code dst} is
         *     not plain f32
         */
        public void copyTo(String name, Tensor dst) {
            Entry e = get(name);
            long[] want = dst.dims();
            boolean scalar = e.shape.length == 0 && want.length == 1 && want[0] == 1;
            if (!scalar && !Arrays.equals(e.shape, want)) {
                throw new IllegalArgumentException(file + ": tensor '" + name + "' has shape "
                        + Arrays.toString(e.shape) + " but '" + dst.name() + "' has " + Arrays.toString(want));
            }
            if (!dst.desc().isPlain() || dst.desc().dataType() != DataType.F32) {
                throw new IllegalArgumentException("'" + dst.name() + "' is " + dst.desc().shapeString()
                        + "; load into a plain f32 tensor and reorder it");
            }
            try {
                e.copyTo(dst.segment());
            } catch (IllegalStateException ex) {
                throw inFile(ex);
            }
        }

        private void verify() throws IOException {
            String stored = parsed.metadata.get(CHECKSUM_KEY);
            if (!stored.matches("[0-9a-f]{64}")) {
                throw new IOException(file + ": corrupted: " + CHECKSUM_KEY + " is '" + stored
                        + "', not 64 lowercase hex digits");
            }
            MessageDigest md = prefixDigest(parsed.tensors, parsed.metadata);
            MemorySegment data = map.asSlice(parsed.dataStart);
            for (long off = 0; off < data.byteSize(); off += CHUNK) {
                md.update(data.asSlice(off, Math.min(CHUNK, data.byteSize() - off)).asByteBuffer());
            }
            String actual = HexFormat.of().formatHex(md.digest());
            if (!actual.equals(stored)) {
                throw new IOException(file + ": corrupted: checksum mismatch (" + CHECKSUM_KEY + " in the header is "
                        + stored + ", the contents hash to " + actual + "); the file was damaged after it was written");
            }
            verified = true;
        }

        @Override
        public String describe() {
            return "safetensors reader '" + file + "' (" + entries.size() + " tensors, " + map.byteSize() + " bytes)";
        }

        /** 0 for a mapping (file-backed page cache, not memory this process allocated); the copy's size otherwise. */
        @Override
        public long nativeBytes() {
            return ownedBytes;
        }

        @Override
        protected void release() {
            arena.close();
        }
    }

    // ---------------------------------------------------------------------------------------------- writing

    /**
     * The values of one tensor to write: f32, row-major, native (little-endian) byte order. {@link #data()} is
     * called once, while the file is being written; what it throws aborts the write (the old file stays).
     */
    public interface Source {
        long[] shape();

        /** Exactly {@code product(shape) * 4} bytes; heap or native. */
        MemorySegment data();

        /** Values already in a segment (native or heap). */
        static Source of(long[] shape, MemorySegment f32) {
            long[] s = shape.clone();
            return new Source() {
                @Override
                public long[] shape() {
                    return s;
                }

                @Override
                public MemorySegment data() {
                    return f32;
                }
            };
        }

        /** Values in a Java array. */
        static Source of(long[] shape, float[] values) {
            return of(shape, MemorySegment.ofArray(values));
        }

        /**
         * A tensor in a plain f32 layout (reorder a blocked one with {@link Tensor#toPlain} first). Its bytes are
         * read when the file is written, so it must still be open then.
         */
        static Source of(Tensor tensor) {
            if (!tensor.desc().isPlain() || tensor.desc().dataType() != DataType.F32) {
                throw new IllegalArgumentException("'" + tensor.name() + "' is " + tensor.desc().shapeString()
                        + "; safetensors holds plain f32 here: reorder it with toPlain first");
            }
            long[] s = tensor.dims();
            return new Source() {
                @Override
                public long[] shape() {
                    return s;
                }

                @Override
                public MemorySegment data() {
                    return tensor.segment();
                }
            };
        }
    }

    /**
     * Writes {@code tensors} (as F32, in the map's order) and {@code metadata} to {@code file}, atomically, with
     * a {@value #CHECKSUM_KEY} checksum added to the metadata. When anything fails midway (a source that
     * throws, a full disk), {@code file} keeps its previous contents.
     *
     * @param tensors name to values; names are any non-empty strings except {@code "__metadata__"}
     * @param metadata extra strings for {@code __metadata__} (e.g. {@code "format": "pt"}); must not contain
     *     {@value #CHECKSUM_KEY}
     * @throws IllegalArgumentException for a bad name, shape or metadata key, or a source whose data has the
     *     wrong size (raised before the file is touched, except a wrong size, found while writing)
     */
    public static void write(Path file, SequencedMap<String, Source> tensors, Map<String, String> metadata)
            throws IOException {
        List<Info> infos = new ArrayList<>(tensors.size());
        long offset = 0;
        for (Map.Entry<String, Source> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name == null || name.isEmpty() || name.equals(METADATA)) {
                throw new IllegalArgumentException("tensor name '" + name + "' is not allowed (empty or reserved)");
            }
            long[] shape = e.getValue().shape().clone();
            long bytes = 4;
            for (long d : shape) {
                if (d < 0) {
                    throw new IllegalArgumentException("tensor '" + name + "': negative dimension in shape "
                            + Arrays.toString(shape));
                }
                try {
                    bytes = Math.multiplyExact(bytes, d);
                } catch (ArithmeticException ex) {
                    throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape)
                            + " overflows a 64-bit byte count");
                }
            }
            infos.add(new Info(name, "F32", shape, offset, offset + bytes));
            offset += bytes;
        }
        Map<String, String> meta = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (e.getKey() == null || e.getValue() == null) {
                throw new IllegalArgumentException("metadata keys and values must not be null: " + e);
            }
            if (e.getKey().equals(CHECKSUM_KEY)) {
                throw new IllegalArgumentException("metadata key '" + CHECKSUM_KEY + "' is reserved for the checksum "
                        + "Stride adds");
            }
            meta.put(e.getKey(), e.getValue());
        }
        byte[] header = header(infos, meta);
        MessageDigest md = prefixDigest(infos, meta);
        List<Source> sources = List.copyOf(tensors.values());
        AtomicFile.write(file, ch -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            writeFully(ch, len);
            writeFully(ch, ByteBuffer.wrap(header));
            byte[] chunk = new byte[CHUNK];
            for (int i = 0; i < sources.size(); i++) {
                Info info = infos.get(i);
                MemorySegment src = sources.get(i).data();
                long bytes = info.end - info.begin;
                if (src.byteSize() != bytes) {
                    throw new IllegalArgumentException("tensor '" + info.name + "' " + Arrays.toString(info.shape)
                            + " needs " + bytes + " bytes of f32, its source has " + src.byteSize());
                }
                for (long off = 0; off < bytes; off += CHUNK) {
                    int n = (int) Math.min(CHUNK, bytes - off);
                    MemorySegment.copy(src, ValueLayout.JAVA_BYTE, off, chunk, 0, n);
                    md.update(chunk, 0, n);
                    writeFully(ch, ByteBuffer.wrap(chunk, 0, n));
                }
            }
            byte[] hex = HexFormat.of().formatHex(md.digest()).getBytes(StandardCharsets.US_ASCII);
            ByteBuffer digits = ByteBuffer.wrap(hex);
            long at = 8 + HEADER_START.length();
            while (digits.hasRemaining()) {
                at += ch.write(digits, at);
            }
        });
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** The JSON header, checksum first (as a placeholder), padded with spaces so the data starts 64-aligned. */
    private static byte[] header(List<Info> infos, Map<String, String> metadata) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            g.writeStartObject();
            g.writeObjectFieldStart(METADATA);
            g.writeStringField(CHECKSUM_KEY, new String(PLACEHOLDER, StandardCharsets.US_ASCII));
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                g.writeStringField(e.getKey(), e.getValue());
            }
            g.writeEndObject();
            for (Info t : infos) {
                g.writeObjectFieldStart(t.name);
                g.writeStringField("dtype", t.dtype);
                g.writeArrayFieldStart("shape");
                for (long d : t.shape) {
                    g.writeNumber(d);
                }
                g.writeEndArray();
                g.writeArrayFieldStart("data_offsets");
                g.writeNumber(t.begin);
                g.writeNumber(t.end);
                g.writeEndArray();
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        int pad = (64 - (8 + out.size()) % 64) % 64;
        for (int i = 0; i < pad; i++) {
            out.write(' ');
        }
        byte[] bytes = out.toByteArray();
        if (!new String(bytes, 0, HEADER_START.length(), StandardCharsets.UTF_8).equals(HEADER_START)) {
            throw new IllegalStateException("safetensors header does not start with " + HEADER_START);
        }
        return bytes;
    }

    /** SHA-256 primed with the header part of the checksum (see the class comment). */
    private static MessageDigest prefixDigest(List<Info> infos, Map<String, String> metadata) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        putString(md, DIGEST_DOMAIN);
        List<Info> ordered = new ArrayList<>(infos);
        ordered.sort(DATA_ORDER);
        putLong(md, ordered.size());
        for (Info t : ordered) {
            putString(md, t.name);
            putString(md, t.dtype);
            putLong(md, t.shape.length);
            for (long d : t.shape) {
                putLong(md, d);
            }
            putLong(md, t.begin);
            putLong(md, t.end);
        }
        List<Map.Entry<byte[], byte[]>> meta = new ArrayList<>();
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (!e.getKey().equals(CHECKSUM_KEY)) {
                meta.add(Map.entry(e.getKey().getBytes(StandardCharsets.UTF_8),
                        e.getValue().getBytes(StandardCharsets.UTF_8)));
            }
        }
        meta.sort((a, b) -> Arrays.compareUnsigned(a.getKey(), b.getKey()));
        putLong(md, meta.size());
        for (Map.Entry<byte[], byte[]> e : meta) {
            putBytes(md, e.getKey());
            putBytes(md, e.getValue());
        }
        return md;
    }

    private static void putString(MessageDigest md, String s) {
        putBytes(md, s.getBytes(StandardCharsets.UTF_8));
    }

    private static void putBytes(MessageDigest md, byte[] b) {
        md.update(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, b.length).array());
        md.update(b);
    }

    private static void putLong(MessageDigest md, long v) {
        md.update(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v).array());
    }
}
