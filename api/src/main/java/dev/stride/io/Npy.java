package dev.stride.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files (format 1.0-3.0): little-endian {@code float32}, {@code float64},
 * {@code int32} and {@code int64} arrays in C order. Values come back as {@code float[]} or {@code long[]}.
 */
public final class Npy {
    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr':\\s*'([^']+)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order':\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\(([^)]*)\\)");

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
        if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC)) {
            throw new IOException(name + ": not a .npy file (no \\x93NUMPY magic)");
        }
        int major = bytes[6];
        ByteBuffer bb = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen;
        int start;
        if (major == 1) {
            headerLen = Short.toUnsignedInt(bb.getShort(8));
            start = 10;
        } else if (major == 2 || major == 3) {
            headerLen = bb.getInt(8);
            start = 12;
        } else {
            throw new IOException(name + ": unsupported .npy version " + major);
        }
        if (start + headerLen > bytes.length) {
            throw new IOException(name + ": truncated header");
        }
        String h = new String(bytes, start, headerLen, StandardCharsets.ISO_8859_1);
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
        long[] shape = Arrays.stream(parts).map(String::strip).filter(p -> !p.isEmpty()).mapToLong(Long::parseLong).toArray();
        Header header = new Header(d.group(1), shape, start + headerLen);
        long need = header.count() * itemSize(header.dtype(), name);
        if (header.dataOffset() + need > bytes.length) {
            throw new IOException(name + ": truncated: shape " + Arrays.toString(shape) + " " + header.dtype()
                    + " needs " + need + " data bytes, file has " + (bytes.length - header.dataOffset()));
        }
        return header;
    }

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
        byte[] bytes = Files.readAllBytes(file);
        Header h = header(bytes, file.toString());
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

    /** Writes a {@code float32} C-order array, atomically (temporary file, then rename). */
    public static void write(Path file, long[] shape, float[] data) throws IOException {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values, got "
                    + data.length);
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
        ByteBuffer bb = ByteBuffer.allocate(10 + header.length() + data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bb.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        bb.put(header.getBytes(StandardCharsets.ISO_8859_1));
        for (float v : data) {
            bb.putFloat(v);
        }
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName() + ".", ".tmp");
        try {
            Files.write(tmp, bb.array());
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
