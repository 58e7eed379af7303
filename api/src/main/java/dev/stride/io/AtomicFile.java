package dev.stride.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Replaces a file all at once: the new contents go to a temporary file in the same directory, which is
 * flushed to disk ({@code fsync}), renamed over the target in one step ({@code rename(2)}, {@link
 * StandardCopyOption#ATOMIC_MOVE}) and followed by an {@code fsync} of the directory so the rename itself
 * survives a crash.
 *
 * <p>A reader therefore sees either the old file or the complete new one, never a mix, and a write that fails
 * midway (an exception from the body, a full disk, a killed process) leaves the old file as it was.
 *
 * <p>Thread-safe: static functions; concurrent writers of one path each replace it atomically (last rename wins).
 */
public final class AtomicFile {
    private AtomicFile() {}

    /** Writes the new contents into the channel (positioned at 0 of an empty file). */
    @FunctionalInterface
    public interface Body {
        void write(FileChannel channel) throws IOException;
    }

    /**
     * Writes {@code target} atomically with the bytes {@code body} puts into the channel. When the body throws,
     * the temporary file is deleted, {@code target} is untouched and the exception propagates.
     */
    public static void write(Path target, Body body) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new NoSuchFileException(String.valueOf(dir), null, "cannot write " + abs
                    + ": its directory does not exist");
        }
        // Created with the default permissions (Files.createTempFile would make it 0600) and a name no other
        // writer picks, so concurrent writers of the same target never share a temporary file.
        Path tmp = dir.resolve("." + abs.getFileName() + "." + ProcessHandle.current().pid() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                body.write(ch);
                ch.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
        } finally {
            if (!moved) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    // The original failure matters more; a stray temporary file is harmless.
                }
            }
        }
        syncDirectory(dir);
    }

    private static void syncDirectory(Path dir) throws IOException {
        // Linux lets a directory be opened read-only and fsync'ed; that makes the rename durable.
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }
}
