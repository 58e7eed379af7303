package dev.stride.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {

    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.run(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void infoPrintsVersionIsaThreadsAndLocation() {
        Run r = run("info");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("oneDNN version : 3.13"), r.out());
        assertTrue(r.out().contains("effective ISA  : "), r.out());
        assertTrue(r.out().contains("threads        : "), r.out());
        assertTrue(r.out().contains("libdnnl.so.3"), r.out());
        assertTrue(r.out().contains("custom ops     : Vector API, "), r.out()); // Surefire adds the module
    }

    @Test
    void convCheckOnRealFashionMnistAgreesWithTheReference() {
        Path data = Path.of("/usr/share/datasets/fashion-mnist");
        assertTrue(Files.isRegularFile(data.resolve("t10k-images-idx3-ubyte.gz")),
                "Fashion-MNIST missing: `make test` installs dataset-fashion-mnist");
        Run r = run("conv-check", "--images", "4");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("result         : OK"), r.out());
    }

    @Test
    void missingDataIsAClearError(@TempDir Path empty) {
        Run r = run("conv-check", "--data", empty.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("t10k-images-idx3-ubyte.gz") && r.err().contains("IDX file not found"), r.err());
    }

    @Test
    void malformedDataIsAClearError(@TempDir Path dir) throws Exception {
        Files.write(dir.resolve("t10k-images-idx3-ubyte.gz"), new byte[] {0, 0, 8, 1, 0, 0, 0, 5});
        Run r = run("conv-check", "--data", dir.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("IDX rank 1, expected 3"), r.err());
    }

    @Test
    void summaryPrintsTheLayerTable() {
        Run r = run("summary");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("conv1") && r.out().contains("32x28x28"), r.out());
        assertTrue(r.out().contains("total: 3274634 parameters"), r.out());
        for (String model : new String[] {"resnet", "densenet"}) {
            Run m = run("summary", "--model", model, "--markdown");
            assertEquals(0, m.code(), m.err());
            assertTrue(m.out().startsWith("| layer | kind |"), m.out());
        }
        assertEquals(2, run("summary", "--model", "vgg").code());
    }

    @Test
    void badOptionsAreUsageErrors() {
        Run r = run("conv-check", "--images", "lots");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("Invalid value for option '--images'"), r.err());
        assertEquals(2, run("train-everything").code());
    }

    @Test
    void trainThenEvalOnRealData(@TempDir Path out) {
        Run t = run("train", "--limit", "1280", "--epochs", "1", "--batch", "32", "--out", out.toString());
        assertEquals(0, t.code(), t.out() + t.err());
        assertTrue(t.out().contains("epoch 1: train loss"), t.out());
        assertTrue(t.out().contains("Ankle boot"), "confusion matrix with class names: " + t.out());
        assertTrue(Files.isRegularFile(out.resolve("curves.png")) && Files.isRegularFile(out.resolve("best.safetensors")),
                t.out());
        Run e = run("eval", out.resolve("last.safetensors").toString());
        assertEquals(0, e.code(), e.out() + e.err());
        String acc = t.out().replaceAll("(?s).*test accuracy ([0-9.]+)%.*", "$1");
        assertTrue(e.out().contains("test accuracy " + acc + "%"), "eval reproduces train's " + acc + "%: " + e.out());
    }

    @Test
    void badTrainingOptionsAreClearErrors(@TempDir Path empty) {
        Run r = run("train", "--epochs", "0");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--epochs and --batch must be >= 1"), r.err());
        Run m = run("train", "--model", "vgg");
        assertEquals(2, m.code());
        assertTrue(m.err().contains("reference, referencebn, vggbn, resnet, densenet, seresnet, wideseresnet, stn, deform"), m.err());
        Run d = run("train", "--data", empty.toString());
        assertEquals(1, d.code());
        assertTrue(d.err().contains("train-images-idx3-ubyte.gz"), d.err());
        Run c = run("eval", empty.resolve("none.safetensors").toString(), "--model", "reference");
        assertEquals(1, c.code());
        assertTrue(c.err().contains("none.safetensors"), c.err());
    }
}
