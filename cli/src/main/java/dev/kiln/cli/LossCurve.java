package dev.kiln.cli;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** The training loss per step, raw and as a moving average, drawn to a PNG with XChart (headless). */
final class LossCurve {
    private LossCurve() {}

    static void write(Path png, String title, List<double[]> stepLosses) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int n = stepLosses.size();
        double[] x = new double[n], y = new double[n], smooth = new double[n];
        int window = Math.max(1, n / 50);
        double sum = 0;
        for (int i = 0; i < n; i++) {
            x[i] = stepLosses.get(i)[0];
            y[i] = stepLosses.get(i)[1];
            sum += y[i];
            if (i >= window) sum -= y[i - window];
            smooth[i] = sum / Math.min(i + 1, window);
        }
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title).xAxisTitle("step").yAxisTitle("cross-entropy loss").build();
        chart.getStyler().setLegendVisible(true);
        XYSeries raw = chart.addSeries("loss", x, y);
        raw.setMarker(SeriesMarkers.NONE);
        raw.setLineColor(new java.awt.Color(160, 190, 230));
        XYSeries avg = chart.addSeries("moving average (" + window + " steps)", x, smooth);
        avg.setMarker(SeriesMarkers.NONE);
        avg.setLineColor(new java.awt.Color(20, 60, 160));
        String base = png.toString().endsWith(".png") ? png.toString().substring(0, png.toString().length() - 4) : png.toString();
        BitmapEncoder.saveBitmap(chart, base, BitmapEncoder.BitmapFormat.PNG);
    }
}
