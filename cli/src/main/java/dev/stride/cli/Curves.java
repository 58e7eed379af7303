package dev.stride.cli;

import dev.stride.io.AtomicFile;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Loss and accuracy curves of a training run, drawn with XChart into one PNG (loss left, accuracy right). */
final class Curves {

    private final List<Double> stepX = new ArrayList<>();
    private final List<Double> stepLoss = new ArrayList<>();
    private final List<Double> epochX = new ArrayList<>();
    private final List<Double> trainLoss = new ArrayList<>();
    private final List<Double> testLoss = new ArrayList<>();
    private final List<Double> trainAccuracy = new ArrayList<>();
    private final List<Double> testAccuracy = new ArrayList<>();

    /** A point of the smoothed training loss at {@code epoch} (fractional). */
    void step(double epoch, double loss) {
        stepX.add(epoch);
        stepLoss.add(loss);
    }

    /** The figures of epoch {@code epoch} (0-based), plotted at its end. */
    void epoch(int epoch, double trainL, double trainAcc, double testL, double testAcc) {
        epochX.add(epoch + 1.0);
        trainLoss.add(trainL);
        testLoss.add(testL);
        trainAccuracy.add(100 * trainAcc);
        testAccuracy.add(100 * testAcc);
    }

    /** Writes the PNG atomically, like checkpoints ({@link AtomicFile}). */
    void write(Path png, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYChart loss = new XYChartBuilder().width(640).height(420).title(title + ": loss").xAxisTitle("epoch")
                .yAxisTitle("cross-entropy").build();
        if (!stepX.isEmpty()) {
            loss.addSeries("train (running)", stepX, stepLoss).setMarker(SeriesMarkers.NONE);
        }
        if (!epochX.isEmpty()) {
            loss.addSeries("train (epoch)", epochX, trainLoss);
            loss.addSeries("test", epochX, testLoss);
        }
        XYChart acc = new XYChartBuilder().width(640).height(420).title(title + ": accuracy").xAxisTitle("epoch")
                .yAxisTitle("accuracy, %").build();
        if (!epochX.isEmpty()) {
            acc.addSeries("train", epochX, trainAccuracy);
            acc.addSeries("test", epochX, testAccuracy);
        }
        BufferedImage left = BitmapEncoder.getBufferedImage(loss);
        BufferedImage right = BitmapEncoder.getBufferedImage(acc);
        BufferedImage both = new BufferedImage(left.getWidth() + right.getWidth(),
                Math.max(left.getHeight(), right.getHeight()), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = both.createGraphics();
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, both.getWidth(), both.getHeight());
        g.drawImage(left, 0, 0, null);
        g.drawImage(right, left.getWidth(), 0, null);
        g.dispose();
        Files.createDirectories(png.toAbsolutePath().getParent());
        AtomicFile.write(png, ch -> {
            if (!ImageIO.write(both, "png", Channels.newOutputStream(ch))) {
                throw new IOException("no PNG writer in this JDK's ImageIO for " + png);
            }
        });
    }
}
