package dev.stride.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reader for the IDX files MNIST and Fashion-MNIST ship in (optionally gzip-compressed): a big-endian
 * header {@code 0x00 0x00 type ndims}, {@code ndims} 32-bit sizes, then the data. Only unsigned bytes
 * ({@code type 0x08}) are used by these data sets.
 *
 * <p>Thread-safe: static functions without state.
 */
public final class Idx {
    private Idx() {}

    /** The decoded file: its dimensions and the raw unsigned bytes. */
    public record Array(int[] dims, byte[] data) {
        public int count() {
            return dims[0];
        }

        /** Elements per item (e.g. 28*28 for images, 1 for labels). */
        public int itemSize() {
            int s = 1;
            for (int i = 1; i < dims.length; i++) {
                s *= dims[i];
            }
            return s;
        }
    }

    /**
     * Reads at most {@code limit} items (all when {@code limit < 0}) and checks the header against
     * {@code expectedRank}: every dimension positive, their product (the data length) at most
     * {@link Integer#MAX_VALUE} bytes, and exactly that many bytes of data (for a gzip'ed file, after
     * decompression). A missing, truncated or malformed file is an {@link IOException} naming the file and saying
     * what was expected; nothing is allocated on the header's word before the file is seen to hold that much.
     *
     * @throws IllegalArgumentException when {@code expectedRank} is not 1..255
     */
    public static Array read(Path file, int expectedRank, int limit) throws IOException {
        if (expectedRank < 1 || expectedRank > 255) {
            throw new IllegalArgumentException("expectedRank must be 1..255 (an IDX file's rank byte), got "
                    + expectedRank);
        }
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "IDX file not found (for Fashion-MNIST install the "
                    + "dataset-fashion-mnist package or pass --data DIR)");
        }
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            raw.mark(2);
            int b0 = raw.read();
            int b1 = raw.read();
            raw.reset();
            InputStream in = (b0 == 0x1f && b1 == 0x8b) ? new GZIPInputStream(raw, 1 << 16) : raw;
            DataInputStream data = new DataInputStream(in);
            int magic;
            try {
                magic = data.readInt();
            } catch (EOFException e) {
                throw new IOException(file + ": empty or truncated IDX header");
            }
            int type = (magic >>> 8) & 0xff;
            int rank = magic & 0xff;
            if ((magic >>> 16) != 0 || type != 0x08) {
                throw new IOException(file + ": not an unsigned-byte IDX file (magic 0x" + Integer.toHexString(magic)
                        + ", expected 0x0000080" + expectedRank + ")");
            }
            if (rank != expectedRank) {
                throw new IOException(file + ": IDX rank " + rank + ", expected " + expectedRank);
            }
            int[] dims = new int[rank];
            for (int i = 0; i < rank; i++) {
                try {
                    dims[i] = data.readInt();
                } catch (EOFException e) {
                    throw new IOException(file + ": truncated IDX header (" + rank + " dimensions promised)");
                }
            }
            long total = 1;
            for (int i = 0; i < rank; i++) {
                if (dims[i] <= 0) {
                    throw new IOException(file + ": IDX dimension " + i + " is " + dims[i] + " (header dims "
                            + Arrays.toString(dims) + "); every dimension must be positive");
                }
                // Each factor is < 2^31 and the running product stays <= 2^31 below, so this cannot overflow.
                total *= dims[i];
                if (total > Integer.MAX_VALUE) {
                    throw new IOException(file + ": IDX header dims " + Arrays.toString(dims) + " promise more than "
                            + Integer.MAX_VALUE + " bytes of data: corrupted, or too large to read into memory");
                }
            }
            long headerBytes = 4 + 4L * rank;
            if (in == raw) {
                long have = Files.size(file) - headerBytes;
                if (have < total) {
                    throw new IOException(file + ": truncated: header dims " + Arrays.toString(dims) + " promise "
                            + total + " bytes of data, the file has " + have);
                }
                if (have > total) {
                    throw new IOException(file + ": header dims " + Arrays.toString(dims) + " promise " + total
                            + " bytes of data but the file holds more (" + have + ")");
                }
            }
            int items = limit < 0 ? dims[0] : Math.min(limit, dims[0]);
            int want = (int) (total / dims[0] * items);
            // readNBytes grows its buffer as bytes arrive: a lying gzip'ed header cannot make it allocate 2 GB.
            byte[] bytes = data.readNBytes(want);
            if (bytes.length < want) {
                throw new IOException(file + ": truncated: header dims " + Arrays.toString(dims) + " promise "
                        + total + " bytes of data, the " + (in == raw ? "file" : "decompressed stream") + " has "
                        + bytes.length + (items < dims[0] ? " before item " + items : ""));
            }
            if (items == dims[0] && data.read() >= 0) {
                // Reading to the end also makes GZIPInputStream check the gzip trailer's CRC and length.
                throw new IOException(file + ": header dims " + Arrays.toString(dims) + " promise " + total
                        + " bytes of data but the file holds more");
            }
            dims[0] = items;
            return new Array(dims, bytes);
        } catch (ZipException e) {
            throw new IOException(file + ": corrupted gzip data (" + e.getMessage() + ")", e);
        }
    }
}
