package dev.stride.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import dev.stride.nn.Network;
import dev.stride.nn.NetworkBuilder;
import dev.stride.nn.NetworkSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoint.load refuses a bad file before it changes anything: lying shapes, odd dtypes, bad step counts. */
class CheckpointTest {

    @TempDir
    Path dir;

    private static NetworkSpec spec() {
        return NetworkBuilder.input(1, 4, 4).flatten().fc(3).build();
    }

    private static Map<String, float[]> snapshot(Network net) {
        Map<String, float[]> m = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : net.tensors().entrySet()) {
            m.put(e.getKey(), e.getValue().toFloatArray());
        }
        return m;
    }

    private static void assertSame(Map<String, float[]> want, Network net) {
        for (Map.Entry<String, float[]> e : want.entrySet()) {
            assertArrayEquals(e.getValue(), net.tensor(e.getKey()).toFloatArray(), e.getKey());
        }
    }

    /** A safetensors file with {@code header} (JSON) and {@code data}, as another writer would make it. */
    private static byte[] handMade(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
        out.writeBytes(h);
        out.writeBytes(data);
        return out.toByteArray();
    }

    @Test
    void roundTripAndRefusalsThatLeaveTheNetworkUntouched() throws IOException {
        try (Scope check = Scope.leakChecked("checkpoint"); Scope scope = Scope.open("opt");
                Network a = Network.create(spec(), 1); Network b = Network.create(spec(), 2)) {
            Optimizer sgd = Sgd.builder(0.1).build(scope, b.parameters());
            Path good = dir.resolve("good.safetensors");
            Checkpoint.save(good, a, null, Map.of("optimizer.steps", "7"));
            Map<String, float[]> before = snapshot(b);

            // Bad step counts are refused before any tensor is copied.
            for (String steps : new String[] {"abc", "-3", "99999999999999999999"}) {
                Path f = dir.resolve("steps.safetensors");
                Checkpoint.save(f, a, null, Map.of("optimizer.steps", steps));
                IOException e = assertThrows(IOException.class, () -> Checkpoint.load(f, b, sgd));
                assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("optimizer.steps is '"
                        + steps + "'"), e.getMessage());
                assertSame(before, b);
            }

            // A tensor in a dtype that does not convert (U64), listed after one that would: nothing copied.
            String names = String.join(",", a.tensors().keySet());
            assertEquals("fc1.weight,fc1.bias", names);
            String header = "{\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[3,16],\"data_offsets\":[0,192]},"
                    + "\"fc1.bias\":{\"dtype\":\"U64\",\"shape\":[3],\"data_offsets\":[192,216]}}";
            Path u64 = dir.resolve("u64.safetensors");
            Files.write(u64, handMade(header, new byte[216]));
            IOException e = assertThrows(IOException.class, () -> Checkpoint.load(u64, b, null));
            assertTrue(e.getMessage().contains("'fc1.bias' is U64"), e.getMessage());
            assertSame(before, b);

            // A lying shape: 2^62 * 4 bytes wraps to 0 without overflow checks.
            String lying = "{\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}";
            Path overflow = dir.resolve("overflow.safetensors");
            Files.write(overflow, handMade(lying, new byte[0]));
            e = assertThrows(IOException.class, () -> Checkpoint.load(overflow, b, null));
            assertTrue(e.getMessage().startsWith(overflow.toString()) && e.getMessage().contains("overflows"),
                    e.getMessage());
            assertSame(before, b);

            Map<String, String> meta = Checkpoint.load(good, b, sgd);
            assertEquals("7", meta.get("optimizer.steps"));
            assertEquals(7, sgd.stepCount());
            assertSame(snapshot(a), b);
        }
    }
}
