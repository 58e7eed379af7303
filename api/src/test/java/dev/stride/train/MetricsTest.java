package dev.stride.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.stride.core.Scope;
import dev.stride.core.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

class MetricsTest {

    @Test
    void argmaxPerRowFirstOnTiesNanIsLargest() {
        try (Scope scope = Scope.leakChecked("argmax")) {
            Tensor logits = Tensor.of(scope, "logits", new float[] {
                    0.1f, 2.0f, -1f, 1.9f,
                    3f, 3f, 1f, 3f,
                    -5f, -4f, -3f, -2f,
                    1f, Float.NaN, 7f, Float.NaN,
                    Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, -1e30f}, 5, 4);
            int[] out = new int[6];
            out[5] = -7;
            Metrics.argmax(logits, out);
            assertArrayEquals(new int[] {1, 0, 3, 1, 3, -7}, out);
            var e = assertThrows(IllegalArgumentException.class, () -> Metrics.argmax(logits, new int[4]));
            assertEquals("argmax: output must hold 5 indices, got 4", e.getMessage());
            Tensor flat = Tensor.zeros(scope, "flat", 7);
            e = assertThrows(IllegalArgumentException.class, () -> Metrics.argmax(flat, out));
            assertEquals("argmax: expected a plain f32 N x K tensor, got 'flat' f32 [7] a", e.getMessage());
        }
    }

    @Test
    void accuracyCountsMatches() {
        Accuracy acc = new Accuracy();
        assertTrue(Double.isNaN(acc.value()));
        acc.add(new int[] {1, 0, 3, 0, 5}, new int[] {1, 2, 3, 4, 9}, 4);
        assertEquals(2, acc.correct());
        assertEquals(4, acc.total());
        acc.add(3, 4);
        assertEquals(5.0 / 8, acc.value());
        assertEquals("Accuracy[62.50% (5/8)]", acc.toString());
        var e = assertThrows(IllegalArgumentException.class, () -> acc.add(new int[2], new int[3], 3));
        assertEquals("accuracy: count 3 does not fit 2 labels and 3 predictions", e.getMessage());
        acc.reset();
        assertEquals(0, acc.total());
    }

    @Test
    void runningMeanWeightsBatchesBySize() {
        RunningMean loss = new RunningMean();
        assertTrue(Double.isNaN(loss.mean()));
        loss.add(2.0, 100);  // mean loss of a batch of 100
        loss.add(0.5, 28);   // the last, smaller batch
        assertEquals((2.0 * 100 + 0.5 * 28) / 128, loss.mean(), 1e-15);
        assertEquals(128, loss.count());
        loss.reset();
        for (int i = 0; i < 10_000_000; i++) {
            loss.add(0.1);
        }
        assertEquals(0.1, loss.mean(), 1e-15, "compensated summation keeps a long mean exact");
    }

    @Test
    void confusionMatrixOnAHandMadeCase() {
        ConfusionMatrix cm = new ConfusionMatrix(List.of("cat", "dog", "bird"));
        // true:      cat cat cat dog dog bird bird bird bird
        // predicted: cat cat dog dog cat bird bird dog  bird
        int[] actual = {0, 0, 0, 1, 1, 2, 2, 2, 2};
        int[] predicted = {0, 0, 1, 1, 0, 2, 2, 1, 2};
        cm.add(actual, predicted, actual.length);
        assertArrayEquals(new long[][] {{2, 1, 0}, {1, 1, 0}, {0, 1, 3}}, cm.counts());
        assertEquals(9, cm.total());
        assertEquals(6, cm.correct());
        assertEquals(6.0 / 9, cm.accuracy(), 1e-15);
        assertEquals(2.0 / 3, cm.precision(0), 1e-15); // predicted cat: 2 cats + 1 dog
        assertEquals(1.0 / 3, cm.precision(1), 1e-15); // predicted dog: 1 cat, 1 dog, 1 bird
        assertEquals(1.0, cm.precision(2), 1e-15);
        assertEquals(2.0 / 3, cm.recall(0), 1e-15);
        assertEquals(0.5, cm.recall(1), 1e-15);
        assertEquals(0.75, cm.recall(2), 1e-15);
        assertEquals(2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5), cm.f1(1), 1e-15);
        String nl = System.lineSeparator();
        assertEquals(
                "Confusion matrix (rows: true class, columns: predicted class), 9 samples, accuracy 66.7%" + nl
                + "               0      1      2   recall" + nl
                + "0 cat          2      1      0    66.7%" + nl
                + "1 dog          1      1      0    50.0%" + nl
                + "2 bird         0      1      3    75.0%" + nl
                + "precision  66.7%  33.3% 100.0%" + nl, cm.render());
        var e = assertThrows(IllegalArgumentException.class, () -> cm.add(3, 0));
        assertEquals("confusion matrix: true class 3 is outside [0, 3) (3 classes)", e.getMessage());
    }

    @Test
    void renderingMatchesTheJavadocExample() {
        ConfusionMatrix cm = new ConfusionMatrix(List.of("T-shirt/top", "Trouser"));
        int[][] counts = {{903, 97}, {73, 927}};
        for (int a = 0; a < 2; a++) {
            for (int p = 0; p < 2; p++) {
                for (int i = 0; i < counts[a][p]; i++) {
                    cm.add(a, p);
                }
            }
        }
        String nl = System.lineSeparator();
        assertEquals("Confusion matrix (rows: true class, columns: predicted class), 2000 samples, accuracy 91.5%" + nl
                + "                   0      1   recall" + nl
                + "0 T-shirt/top    903     97    90.3%" + nl
                + "1 Trouser         73    927    92.7%" + nl
                + "precision      92.5%  90.5%" + nl, cm.toString());
    }

    @Test
    void confusionMatrixRendersFashionMnistNamesAndUndefinedPrecision() {
        List<String> names = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                "Bag", "Ankle boot");
        ConfusionMatrix cm = new ConfusionMatrix(names);
        for (int c = 0; c < 10; c++) {
            for (int i = 0; i < 1000; i++) {
                cm.add(c, i < 900 ? c : (c == 6 ? 0 : 6));
            }
        }
        String text = cm.render();
        assertTrue(text.contains("10000 samples, accuracy 90.0%"), text);
        assertTrue(text.contains(System.lineSeparator() + "9 Ankle boot   "), text);
        assertTrue(text.contains(System.lineSeparator() + "6 Shirt        "), text);
        assertEquals(11 + 2, text.split(System.lineSeparator()).length);
        ConfusionMatrix empty = ConfusionMatrix.ofSize(2);
        empty.add(0, 0);
        assertTrue(Double.isNaN(empty.precision(1)));
        assertTrue(empty.render().contains("n/a"), empty.render());
        ConfusionMatrix other = ConfusionMatrix.ofSize(2);
        other.add(1, 0);
        empty.addAll(other);
        assertEquals(1, empty.count(1, 0));
    }
}
