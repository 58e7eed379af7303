package dev.stride.io;

import dev.stride.core.DataType;
import dev.stride.core.MemoryDesc;
import dev.stride.core.NativeResource;
import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SequencedMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * NumPy {@code .npy} files (format 1.0-3.0) and {@code .npz} archives of them: little-endian {@code float32},
 * {@code float64}, {@code int32}, {@code int64} and byte arrays in C order. Values come back as {@code float[]}
 * or {@code long[]}; a {@code float32} file can also be {@linkplain #map memory-mapped} and used as a
 * {@link Tensor} in place, without copying. Writing is {@code float32}, atomic (see {@link AtomicFile}).
 *
 * <p>Thread-safe: static functions; a {@code Mapped} file is read-only and may be read from any thread until
 * closed.
 */
public final class Npy {
    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']+)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");
    private static final int CHUNK = 1 << 20;

    /** A decoded array header: dtype ({@code <f4}, ...), shape, and where the data starts. */
    public record Header(String dtype, long[] shape, int dataOffset) {
        public long count() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** An array read as floats. */
    public record Floats(long[] shape, float[] data) {}

    /** An array read as 64-bit integers. */
    public record Longs(long[] shape, long[] data) {}

    /** Parses the header of an {@code .npy} file held in {@code bytes}. */
    public static Header header(byte[] bytes, String name) throws IOException {
        return header(MemorySegment.ofArray(bytes), name);
    }

    /**
     * Parses the header of the {@code .npy} file whose bytes are {@code file} (e.g. a mapping), and checks that
     * the data it promises is all there.
     */
    static Header header(MemorySegment file, String name) throws IOException {
        long size = file.byteSize();
        if (size < 10 || !Arrays.equals(file.asSlice(0, 6).toArray(ValueLayout.JAVA_BYTE), MAGIC)) {
            throw new IOException(name + ": not a .npy file (no \\x93NUMPY magic)");
        }
        int major = file.get(ValueLayout.JAVA_BYTE, 6);
        long headerLen;
        int start;
        if (major == 1) {
            headerLen = Short.toUnsignedInt(file.get(LE_SHORT, 8));
            start = 10;
        } else if ((major == 2 || major == 3) && size >= 12) {
            headerLen = Integer.toUnsignedLong(file.get(LE_INT, 8));
            start = 12;
        } else {
            throw new IOException(name + ": unsupported .npy version " + major);
        }
        if (start + headerLen > size) {
            throw new IOException(name + ": truncated header (" + headerLen + " bytes promised, " + (size - start)
                    + " in the file)");
        }
        String h = new String(file.asSlice(start, headerLen).toArray(ValueLayout.JAVA_BYTE),
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(h);
        Matcher f = FORTRAN.matcher(h);
        Matcher s = SHAPE.matcher(h);
        if (!d.find() || !f.find() || !s.find()) {
            throw new IOException(name + ": malformed .npy header: " + h.strip());
        }
        if (f.group(1).equals("True")) {
            throw new IOException(name + ": Fortran-order arrays are not supported; save with C order");
        }
        String[] parts = s.group(1).split(",");
        long[] shape;
        try {
            shape = Arrays.stream(parts).map(String::strip).filter(p -> !p.isEmpty()).mapToLong(Long::parseLong).toArray();
        } catch (NumberFormatException e) {
            throw new IOException(name + ": malformed shape in .npy header: (" + s.group(1) + ")");
        }
        Header header = new Header(d.group(1), shape, Math.toIntExact(start + headerLen));
        long need = header.count() * itemSize(header.dtype(), name);
        if (header.dataOffset() + need > size) {
            throw new IOException(name + ": truncated: shape " + Arrays.toString(shape) + " " + header.dtype()
                    + " needs " + need + " data bytes, file has " + (size - header.dataOffset()));
        }
        return header;
    }

    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static int itemSize(String dtype, String name) throws IOException {
        return switch (dtype) {
            case "<f4", "<i4" -> 4;
            case "<f8", "<i8" -> 8;
            case "|u1", "|i1", "|b1" -> 1;
            default -> throw new IOException(name + ": unsupported dtype " + dtype
                    + " (supported: <f4, <f8, <i4, <i8, |u1, |i1)");
        };
    }

    /** Reads any supported numeric array as floats. */
    public static Floats readFloats(Path file) throws IOException {
        return readFloats(Files.readAllBytes(file), file.toString());
    }

    private static Floats readFloats(byte[] bytes, String name) throws IOException {
        Header h = header(bytes, name);
        ByteBuffer bb = ByteBuffer.wrap(bytes, h.dataOffset(), bytes.length - h.dataOffset()).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[Math.toIntExact(h.count())];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (h.dtype()) {
                case "<f4" -> bb.getFloat();
                case "<f8" -> (float) bb.getDouble();
                case "<i4" -> bb.getInt();
                case "<i8" -> bb.getLong();
                case "|u1" -> Byte.toUnsignedInt(bb.get());
                default -> bb.get();
            };
        }
        return new Floats(h.shape(), out);
    }

    /** Reads an integer array ({@code <i4}, {@code <i8}, {@code |u1}, {@code |i1}) as longs. */
    public static Longs readLongs(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        Header h = header(bytes, file.toString());
        ByteBuffer bb = ByteBuffer.wrap(bytes, h.dataOffset(), bytes.length - h.dataOffset()).order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[Math.toIntExact(h.count())];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (h.dtype()) {
                case "<i4" -> bb.getInt();
                case "<i8" -> bb.getLong();
                case "|u1" -> Byte.toUnsignedInt(bb.get());
                case "|i1" -> bb.get();
                default -> throw new IOException(file + ": " + h.dtype() + " is not an integer dtype");
            };
        }
        return new Longs(h.shape(), out);
    }

    // ---------------------------------------------------------------------------------------------- writing

    /** Writes a {@code float32} C-order array, atomically. */
    public static void write(Path file, long[] shape, float[] data) throws IOException {
        write(file, shape, MemorySegment.ofArray(data));
    }

    /**
     * Writes a plain f32 tensor (reorder a blocked one with {@link Tensor#toPlain} first) as {@code float32},
     * atomically.
     */
    public static void write(Path file, Tensor tensor) throws IOException {
        if (!tensor.desc().isPlain() || tensor.desc().dataType() != DataType.F32) {
            throw new IllegalArgumentException("'" + tensor.name() + "' is " + tensor.desc().shapeString()
                    + "; .npy holds plain f32 here: reorder it with toPlain first");
        }
        write(file, tensor.dims(), tensor.segment());
    }

    /**
     * Writes {@code shape.product} f32 values from {@code data} (native or heap, native byte order) as a
     * {@code float32} C-order array, atomically (temporary file, fsync, rename).
     */
    public static void write(Path file, long[] shape, MemorySegment data) throws IOException {
        byte[] header = headerBytes(shape, data.byteSize(), file.toString());
        AtomicFile.write(file, ch -> {
            OutputStream out = Channels.newOutputStream(ch);
            out.write(header);
            copy(data, out);
            out.flush();
        });
    }

    /**
     * The magic, version 1.0 and the header dict, padded with spaces so the data starts at a multiple of 64
     * (numpy's own alignment, which keeps a mapped file's data cache-line aligned).
     */
    private static byte[] headerBytes(long[] shape, long dataBytes, String name) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(name + ": negative dimension in shape " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n * 4 != dataBytes) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " holds " + n
                    + " values (" + n * 4 + " bytes of f32), got " + dataBytes + " bytes (" + dataBytes / 4.0
                    + " values)");
        }
        StringBuilder dims = new StringBuilder();
        for (long d : shape) {
            dims.append(d).append(", ");
        }
        String shapeText = shape.length == 1 ? shape[0] + "," : dims.substring(0, Math.max(0, dims.length() - 2));
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + shapeText + "), }";
        int unpadded = 10 + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        if (header.length() > 0xffff) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(shape) + " is too long for a "
                    + "version 1.0 header");
        }
        ByteBuffer bb = ByteBuffer.allocate(10 + header.length()).order(ByteOrder.LITTLE_ENDIAN);
        bb.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        bb.put(header.getBytes(StandardCharsets.ISO_8859_1));
        return bb.array();
    }

    /** Streams a segment's bytes through a small heap buffer (works for heap segments of any array type). */
    private static void copy(MemorySegment data, OutputStream out) throws IOException {
        byte[] chunk = new byte[(int) Math.min(CHUNK, Math.max(1, data.byteSize()))];
        for (long off = 0; off < data.byteSize(); off += chunk.length) {
            int n = (int) Math.min(chunk.length, data.byteSize() - off);
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, off, chunk, 0, n);
            out.write(chunk, 0, n);
        }
    }

    // ---------------------------------------------------------------------------------------------- .npz

    /**
     * Reads every array of an {@code .npz} archive (as {@code numpy.savez} or {@code savez_compressed} write
     * it: stored or deflated) as floats, in archive order, keyed by entry name without {@code .npy}, as
     * {@code numpy.load} does.
     */
    public static SequencedMap<String, Floats> readNpz(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, ".npz file not found");
        }
        SequencedMap<String, Floats> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (e.isDirectory()) {
                    continue;
                }
                String key = e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4)
                        : e.getName();
                byte[] bytes;
                try (InputStream in = zip.getInputStream(e)) {
                    bytes = in.readAllBytes();
                }
                out.put(key, readFloats(bytes, file + "!" + e.getName()));
            }
        } catch (ZipException e) {
            throw new IOException(file + ": not a readable .npz (zip) archive: " + e.getMessage(), e);
        }
        return out;
    }

    /**
     * Writes {@code arrays} as an {@code .npz} archive ({@code name.npy} entries, {@code float32}), deflated
     * when {@code compressed} (like {@code numpy.savez_compressed}), otherwise stored (like {@code numpy.savez}).
     * Atomic, like every write here.
     */
    public static void writeNpz(Path file, SequencedMap<String, Floats> arrays, boolean compressed) throws IOException {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        for (Map.Entry<String, Floats> a : arrays.entrySet()) {
            if (a.getKey() == null || a.getKey().isEmpty()) {
                throw new IllegalArgumentException(file + ": array names must not be empty");
            }
            float[] values = a.getValue().data();
            byte[] header = headerBytes(a.getValue().shape(), values.length * 4L, file + "!" + a.getKey());
            ByteArrayOutputStream npy = new ByteArrayOutputStream(header.length + values.length * 4);
            npy.write(header);
            copy(MemorySegment.ofArray(values), npy);
            entries.put(a.getKey() + ".npy", npy.toByteArray());
        }
        AtomicFile.write(file, ch -> {
            OutputStream raw = Channels.newOutputStream(ch);
            // Closing the zip stream ends its deflater; the channel stays open for AtomicFile's fsync.
            OutputStream keepOpen = new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    raw.write(b);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    raw.write(b, off, len);
                }
            };
            try (ZipOutputStream zip = new ZipOutputStream(keepOpen)) {
                for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                    ZipEntry entry = new ZipEntry(e.getKey());
                    if (compressed) {
                        entry.setMethod(ZipEntry.DEFLATED);
                    } else {
                        // A stored entry's size and CRC go in its local header, before the data.
                        CRC32 crc = new CRC32();
                        crc.update(e.getValue());
                        entry.setMethod(ZipEntry.STORED);
                        entry.setSize(e.getValue().length);
                        entry.setCompressedSize(e.getValue().length);
                        entry.setCrc(crc.getValue());
                    }
                    zip.putNextEntry(entry);
                    zip.write(e.getValue());
                    zip.closeEntry();
                }
            }
        });
    }

    // ---------------------------------------------------------------------------------------------- mapping

    /** {@link #map(Scope, Path, FileChannel.MapMode)} copy-on-write ({@link FileChannel.MapMode#PRIVATE}). */
    public static Mapped map(Scope scope, Path file) throws IOException {
        return map(scope, file, FileChannel.MapMode.PRIVATE);
    }

    /**
     * Memory-maps a little-endian {@code float32} C-order {@code .npy} file and wraps its data as a plain f32
     * {@link Tensor}, without copying: the tensor's bytes are the file's pages.
     *
     * <p>{@link FileChannel.MapMode#PRIVATE} (the default) is copy-on-write: the tensor may be read and written
     * (also by oneDNN), and writes never reach the file. {@link FileChannel.MapMode#READ_WRITE} writes through to
     * the file. Both need the file to be writable by this process (a rule of {@link FileChannel#map}).
     * {@code READ_ONLY} is refused: a primitive writing into such a tensor would crash the JVM instead of
     * throwing. numpy and {@link #write} start the data at a multiple of 64 bytes, so the tensor is cache-line
     * aligned; any multiple of 4 is accepted. A scalar (shape {@code ()}) maps as a 1-element tensor.
     *
     * @return the mapping, owned by {@code scope}; closing it closes the tensor and unmaps the file
     * @throws IOException naming the file when it is missing, not writable, not {@code <f4}, Fortran order,
     *     empty, truncated or its data offset is not a multiple of 4
     */
    public static Mapped map(Scope scope, Path file, FileChannel.MapMode mode) throws IOException {
        if (mode == FileChannel.MapMode.READ_ONLY) {
            throw new IllegalArgumentException("map " + file + ": READ_ONLY is refused because a oneDNN primitive "
                    + "writing into the tensor would crash the JVM; use PRIVATE (copy-on-write) or READ_WRITE");
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment region;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                region = ch.map(mode, 0, ch.size(), arena);
            } catch (NoSuchFileException e) {
                throw new NoSuchFileException(file.toString(), null, ".npy file not found");
            } catch (AccessDeniedException e) {
                throw new AccessDeniedException(file.toString(), null, "mapping a .npy file (" + mode + ") needs it "
                        + "open for writing, which this process may not do; copy it somewhere writable or read it "
                        + "with Npy.readFloats");
            }
            Header h = header(region, file.toString());
            if (!h.dtype().equals("<f4")) {
                throw new IOException(file + ": dtype " + h.dtype() + "; only <f4 (little-endian float32) can be "
                        + "mapped as a tensor; read it with Npy.readFloats to convert");
            }
            if (h.count() == 0) {
                throw new IOException(file + ": shape " + Arrays.toString(h.shape()) + " is empty; a tensor needs "
                        + "every dimension positive");
            }
            if (h.dataOffset() % 4 != 0) {
                throw new IOException(file + ": the data starts at byte " + h.dataOffset() + ", not a multiple of 4, "
                        + "so it cannot be used as f32 in place; read it with Npy.readFloats");
            }
            return new Mapped(scope, file, mode, arena, region, h);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * A memory-mapped {@code .npy} file and the tensor over its data. Owned by the scope it was mapped in;
     * closing it closes the tensor and unmaps the file.
     */
    public static final class Mapped extends NativeResource {
        private final Path file;
        private final FileChannel.MapMode mode;
        private final Arena arena;
        private final MemorySegment region;
        private final Header header;
        private final Scope inner;
        private final Tensor tensor;

        private Mapped(Scope scope, Path file, FileChannel.MapMode mode, Arena arena, MemorySegment region,
                Header header) {
            super(scope);
            this.file = file;
            this.mode = mode;
            this.arena = arena;
            this.region = region;
            this.header = header;
            long[] dims = header.shape().length == 0 ? new long[] {1} : header.shape();
            this.inner = Scope.open("npy-map");
            try (Scope tmp = Scope.open("npy-map-desc")) {
                MemorySegment data = region.asSlice(header.dataOffset(), header.count() * 4);
                this.tensor = Tensor.wrap(inner, file.getFileName().toString(), MemoryDesc.plain(tmp, dims), data);
            } catch (RuntimeException e) {
                inner.close();
                throw e;
            }
            register();
        }

        /** The tensor over the mapped data (plain f32, the file's shape); valid while this mapping is open. */
        public Tensor tensor() {
            ensureOpen();
            return tensor;
        }

        public long[] shape() {
            return header.shape().clone();
        }

        public Header header() {
            return header;
        }

        /** The whole mapped file, header included. */
        public MemorySegment region() {
            ensureOpen();
            return region;
        }

        public Path file() {
            return file;
        }

        public FileChannel.MapMode mode() {
            return mode;
        }

        @Override
        public String describe() {
            return "mapped .npy '" + file + "' " + Arrays.toString(header.shape()) + " (" + mode + ")";
        }

        /** 0: the mapping is file-backed, not memory this process allocated. */
        @Override
        public long nativeBytes() {
            return 0;
        }

        @Override
        protected void release() {
            try {
                inner.close();
            } finally {
                arena.close();
            }
        }
    }
}
