package dev.stride.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Shapes that crash oneDNN or poison the process (softmax steps of 2 GiB, layer-norm rows of 2^29 floats,
 * dims of 2^31) are refused before the native call, and the process keeps computing correctly afterwards.
 * Runs {@link SizeLimitsChild} in a child JVM, so that a regression crashes the child, not this fork.
 */
class FamilySizeLimitsTest {

    @Test
    void refusedShapesLeaveTheProcessWorking() throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        String buildDir = System.getProperty("stride.dnnl.buildDir");
        if (buildDir != null) {
            cmd.add("-Dstride.dnnl.buildDir=" + buildDir);
        }
        cmd.add("-Xmx256m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(SizeLimitsChild.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the child JVM did not finish");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "the child JVM failed:\n" + text);
        assertTrue(text.contains("SIZE LIMITS OK"), text);
    }
}
