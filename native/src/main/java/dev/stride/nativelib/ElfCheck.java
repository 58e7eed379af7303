package dev.stride.nativelib;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Checks that a file is a whole x86-64 ELF shared object before it reaches {@code dlopen}. The dynamic loader
 * maps what the headers promise; a truncated library makes it (or the first call into it) fault on pages past
 * the end of the file, which kills the JVM. Checking the headers against the file length turns that into an
 * error message.
 */
final class ElfCheck {
    private ElfCheck() {}

    private static final int EHDR_SIZE = 64;
    private static final int PHDR_SIZE = 56;
    private static final int SHDR_SIZE = 64;
    private static final int ET_DYN = 3;
    private static final int EM_X86_64 = 62;
    private static final int PT_LOAD = 1;

    /**
     * Throws unless {@code file} is a 64-bit little-endian x86-64 shared object whose program headers, every
     * {@code PT_LOAD} segment's file bytes and the section header table lie inside the file.
     *
     * @throws IOException saying what is wrong (the caller adds the path)
     */
    static void check(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < EHDR_SIZE) {
                throw new IOException("not an ELF shared object: " + size + " bytes, shorter than the 64-byte ELF64 "
                        + "header");
            }
            ByteBuffer h = read(ch, 0, EHDR_SIZE);
            if (h.getInt(0) != 0x464c457f) {
                throw new IOException("not an ELF file (no \\x7fELF magic)");
            }
            if (h.get(4) != 2) {
                throw new IOException("not a 64-bit ELF file (EI_CLASS " + h.get(4) + ", expected 2)");
            }
            if (h.get(5) != 1) {
                throw new IOException("not a little-endian ELF file (EI_DATA " + h.get(5) + ", expected 1)");
            }
            int type = Short.toUnsignedInt(h.getShort(16));
            int machine = Short.toUnsignedInt(h.getShort(18));
            if (type != ET_DYN) {
                throw new IOException("not a shared object (e_type " + type + ", expected " + ET_DYN + ")");
            }
            if (machine != EM_X86_64) {
                throw new IOException("not an x86-64 library (e_machine " + machine + ", expected " + EM_X86_64 + ")");
            }
            long phoff = h.getLong(32);
            long shoff = h.getLong(40);
            int phentsize = Short.toUnsignedInt(h.getShort(54));
            int phnum = Short.toUnsignedInt(h.getShort(56));
            int shentsize = Short.toUnsignedInt(h.getShort(58));
            int shnum = Short.toUnsignedInt(h.getShort(60));
            if (phnum == 0 || phentsize != PHDR_SIZE) {
                throw new IOException("bad program header table (" + phnum + " entries of " + phentsize
                        + " bytes, expected entries of " + PHDR_SIZE + ")");
            }
            within("the program header table", phoff, (long) phnum * PHDR_SIZE, size);
            ByteBuffer ph = read(ch, phoff, phnum * PHDR_SIZE);
            for (int i = 0; i < phnum; i++) {
                int at = i * PHDR_SIZE;
                if (ph.getInt(at) == PT_LOAD) {
                    within("PT_LOAD segment " + i, ph.getLong(at + 8), ph.getLong(at + 32), size);
                }
            }
            if (shoff != 0 || shnum != 0) {
                if (shentsize != SHDR_SIZE) {
                    throw new IOException("bad section header entry size " + shentsize + ", expected " + SHDR_SIZE);
                }
                within("the section header table", shoff, (long) shnum * SHDR_SIZE, size);
            }
        }
    }

    /** Throws unless bytes {@code [offset, offset + length)} lie inside a file of {@code size} bytes. */
    private static void within(String what, long offset, long length, long size) throws IOException {
        if (offset < 0 || length < 0 || offset > size || length > size - offset) {
            throw new IOException("truncated or corrupted: " + what + " spans bytes [" + Long.toUnsignedString(offset)
                    + ", +" + Long.toUnsignedString(length) + ") but the file has " + size + " bytes");
        }
    }

    private static ByteBuffer read(FileChannel ch, long offset, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, offset + b.position()) < 0) {
                throw new IOException("the file shrank while its ELF headers were read");
            }
        }
        return b;
    }
}
