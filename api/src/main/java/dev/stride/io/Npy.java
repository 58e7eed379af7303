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
        /**
         * The number of values: the product of the shape (1 for a scalar).
         *
         * @throws ArithmeticException when the product overflows a long ({@link #header} refuses such shapes)
         */
        public long count() {
            long n = 1;
            for (long d : shape) {
                n = Math.multiplyExact(n, d);
            }
            return n;
        }
    }

    /** An array read as floats. */
    public record Floats(long[] shape, float[] data) {}

    /** An array read as 64-bit integers. */
    public record Longs(long[] shape, long[] data) {}

    /**
     * Parses the header of an {@code .npy} file held in {@code bytes} and checks it against the file: every
     * dimension {@code >= 0}, the value and byte counts within a long, and exactly that many data bytes after
     * the header (no fewer: truncated; no more: a shape that understates the data).
     *
     * @throws IOException naming {@code name}, the field and the values, for any of the above
     */
    public static Header header(byte[] bytes, String name) throws IOException {
        return header(MemorySegment.ofArray(bytes), name);
    }

    /** {@link #header(byte[], String)} of the {@code .npy} file whose bytes are {@code file} (e.g. a mapping). */
    static Header header(MemorySegment file, String name) throws IOException {
        return header(file, file.byteSize(), name);
    }

    /**
     * Where the data of the {@code .npy} file starting with {@code bytes} would begin: after the magic, version,
     * header length and the header it promises (not checked against anything yet).
     */
    private static long headerEnd(MemorySegment bytes, String name) throws IOException {
        long size = bytes.byteSize();
        if (size < 10 || !Arrays.equals(bytes.asSlice(0, 6).toArray(ValueLayout.JAVA_BYTE), MAGIC)) {
            throw new IOException(name + ": not a .npy file (no \\x93NUMPY magic)");
        }
        int major = bytes.get(ValueLayout.JAVA_BYTE, 6);
        if (major == 1) {
            return 10 + Short.toUnsignedInt(bytes.get(LE_SHORT, 8));
        } else if ((major == 2 || major == 3) && size >= 12) {
            return 12 + Integer.toUnsignedLong(bytes.get(LE_INT, 8));
        }
        throw new IOException(name + ": unsupported .npy version " + major + (major == 2 || major == 3
                ? " (or a file too short for its 4-byte header length)" : ""));
    }

    /**
     * Parses the header in {@code bytes} (the file's first bytes: its whole header, or all of it when shorter)
     * and checks the data length it promises against {@code fileSize}, the whole file's length.
     */
    private static Header header(MemorySegment bytes, long fileSize, String name) throws IOException {
        long size = bytes.byteSize();
        long end = headerEnd(bytes, name);
        int major = bytes.get(ValueLayout.JAVA_BYTE, 6);
        int start = major == 1 ? 10 : 12;
        long headerLen = end - start;
        if (end > size) {
            throw new IOException(name + ": truncated header (header length field says " + headerLen + " bytes, "
                    + (fileSize - start) + " follow it in the file)");
        }
        if (end > Integer.MAX_VALUE) {
            throw new IOException(name + ": header length field says " + headerLen + " bytes, more than the 2 GB "
                    + "a .npy header may take here: a corrupted header");
        }
        String h = new String(bytes.asSlice(start, headerLen).toArray(ValueLayout.JAVA_BYTE),
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
        int item = itemSize(d.group(1), name);
        long need = item;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new IOException(name + ": shape " + Arrays.toString(shape) + " has a negative dimension "
                        + shape[i] + " at index " + i);
            }
            try {
                need = Math.multiplyExact(need, shape[i]);
            } catch (ArithmeticException e) {
                throw new IOException(name + ": shape " + Arrays.toString(shape) + " of " + d.group(1) + " overflows "
                        + "a 64-bit byte count: a corrupted header");
            }
        }
        Header header = new Header(d.group(1), shape, Math.toIntExact(end));
        long have = fileSize - end;
        if (need > have) {
            throw new IOException(name + ": truncated: shape " + Arrays.toString(shape) + " " + header.dtype()
                    + " needs " + need + " data bytes, file has " + have);
        }
        if (need < have) {
            throw new IOException(name + ": shape " + Arrays.toString(shape) + " " + header.dtype() + " needs " + need
                    + " data bytes but the file has " + have + " after the header: " + (have - need)
                    + " bytes of trailing data (a header that understates its shape, or several arrays in one file)");
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

    /**
     * Reads any supported numeric array as floats (a copy: the file may change afterwards).
     *
     * @throws IOException naming the file, for any problem {@link #header(byte[], String)} finds, or a file too
     *     large for a Java array (use {@link #map} or {@link #load})
     */
    public static Floats readFloats(Path file) throws IOException {
        return readFloats(readAll(file), file.toString());
    }

    /** The whole file, refusing one that cannot fit a Java array before trying to allocate it. */
    private static byte[] readAll(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 8) {
            throw new IOException(file + ": " + size + " bytes is more than a Java array holds; map it with Npy.map "
                    + "or copy it into a tensor with Npy.load");
        }
        return Files.readAllBytes(file);
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
        byte[] bytes = readAll(file);
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

    // ---------------------------------------------------------------------------------------------- loading

    /**
     * Reads a {@code .npy} file into a new plain f32 tensor that owns its memory, converting other dtypes as
     * {@link #readFloats} does. The copying twin of {@link #map}: the file may change or be truncated
     * afterwards without affecting the tensor. A scalar becomes a 1-element tensor. {@code <f4} data is read
     * straight into the tensor, so its size is not limited to a Java array's.
     *
     * @return the tensor, owned by {@code scope} and named by the file's path
     * @throws IOException naming the file, for anything {@link #header(byte[], String)} refuses, an empty shape
     *     (a tensor needs every dimension positive), or a file that shrinks while it is read
     */
    public static Tensor load(Scope scope, Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment first = MemorySegment.ofArray(readAt(ch, 0, (int) Math.min(size, 12), file));
            long end = headerEnd(first, file.toString());
            Header h = header(MemorySegment.ofArray(readAt(ch, 0, (int) Math.min(size, Math.min(end,
                    Integer.MAX_VALUE - 8L)), file)), size, file.toString());
            if (h.count() == 0) {
                throw new IOException(file + ": shape " + Arrays.toString(h.shape()) + " is empty; a tensor needs "
                        + "every dimension positive");
            }
            long[] dims = h.shape().length == 0 ? new long[] {1} : h.shape();
            if (!h.dtype().equals("<f4")) {
                ch.close();
                return Tensor.of(scope, file.toString(), readFloats(file).data(), dims);
            }
            Tensor t = Tensor.zeros(scope, file.toString(), dims);
            try {
                MemorySegment dst = t.segment();
                for (long off = 0; off < dst.byteSize(); ) {
                    ByteBuffer chunk = dst.asSlice(off, Math.min(CHUNK, dst.byteSize() - off)).asByteBuffer();
                    while (chunk.hasRemaining()) {
                        if (ch.read(chunk, h.dataOffset() + off + chunk.position()) < 0) {
                            throw new IOException(file + ": the file shrank while it was read (" + size
                                    + " bytes when opened)");
                        }
                    }
                    off += chunk.capacity();
                }
            } catch (IOException | RuntimeException e) {
                t.close();
                throw e;
            }
            return t;
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file.toString(), null, ".npy file not found");
        }
    }

    private static byte[] readAt(FileChannel ch, long offset, int length, Path file) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            if (ch.read(b, offset + b.position()) < 0) {
                throw new IOException(file + ": the file shrank while its header was read");
            }
        }
        return b.array();
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
     * <p><b>The file must not shrink while it is mapped.</b> The tensor's bytes are the file's pages, read on
     * demand: if the file is truncated on disk (by another process, a re-download, a full disk) the pages past
     * the new end no longer exist. A Java read of them through Stride ({@link Tensor#toFloatArray}, and
     * {@link Mapped#tensor} re-checks the file's length) throws an exception naming the file, but a read by
     * native code, a oneDNN primitive given the tensor, gets SIGBUS and the JVM dies. Replacing the file by a
     * rename (as {@link #write} does) is safe: the mapping keeps the old file. Use {@link #load} instead when
     * the file may be truncated while in use: it copies the data into a tensor that owns its memory.
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
                // Named by the full path, so an error about the tensor names the file.
                this.tensor = Tensor.wrap(inner, file.toString(), MemoryDesc.plain(tmp, dims), data);
            } catch (RuntimeException e) {
                inner.close();
                throw e;
            }
            register();
        }

        /**
         * The tensor over the mapped data (plain f32, the file's shape, named by the file's path); valid while
         * this mapping is open. Checks first that the file still has its mapped length (see {@link Npy#map}).
         *
         * @throws IllegalStateException when the mapping is closed, or the file shrank on disk since it was mapped
         */
        public Tensor tensor() {
            ensureOpen();
            checkIntact();
            return tensor;
        }

        /**
         * Throws unless the file on disk is still at least as long as when it was mapped. A tensor over a file
         * that shrank must not reach native code, where reading the missing pages kills the JVM.
         *
         * @throws IllegalStateException naming the file and both lengths
         */
        public void checkIntact() {
            long now;
            try {
                now = Files.size(file);
            } catch (IOException e) {
                throw new IllegalStateException("mapped .npy " + file + " can no longer be checked (" + e
                        + "); if it was truncated, reading the mapping would crash", e);
            }
            if (now < region.byteSize()) {
                throw new IllegalStateException("mapped .npy " + file + " shrank on disk from " + region.byteSize()
                        + " to " + now + " bytes while mapped; its missing pages cannot be read (native code reading "
                        + "them would crash the JVM). Map it again, or copy it with Npy.load");
            }
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
