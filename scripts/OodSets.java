// Writes out-of-distribution test sets of 28x28 gray images as IDX files, for `tarflow eval ood`:
//   java scripts/OodSets.java data/fashion-mnist OUT_DIR [N]
// Synthetic sets drawn with Java2D (digit glyphs placed like MNIST, random pen strokes on black and
// on white) and transformed Fashion-MNIST test images 5000.. (so they do not overlap the first
// test images used as the in-distribution set): inverted, flipped upside down, blurred, with
// Gaussian noise, plus uniform noise and constant images. Seeded: the same files every run.
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.CubicCurve2D;
import java.awt.image.BufferedImage;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPInputStream;

public class OodSets {
    static final int S = 28;

    public static void main(String[] args) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Path fmnist = Path.of(args[0]);
        Path out = Path.of(args[1]);
        int n = args.length > 2 ? Integer.parseInt(args[2]) : 1000;
        Files.createDirectories(out);
        byte[][] test = readIdx(fmnist.resolve("t10k-images-idx3-ubyte.gz"), 5000, n);
        Random r = new Random(16);
        write(out, "digits", n, i -> glyphs(r, "0123456789", false));
        write(out, "strokes", n, i -> strokes(r, false));
        write(out, "strokes-inverted", n, i -> strokes(r, true));
        write(out, "letters", n, i -> glyphs(r, "ABCDEFGHJKLMNPQRSTUVWXYZabdefghkmnqrty", false));
        write(out, "fmnist-inverted", n, i -> map(test[i], v -> 255 - v));
        write(out, "fmnist-vflip", n, i -> vflip(test[i]));
        write(out, "fmnist-blur", n, i -> blur(blur(test[i])));
        write(out, "fmnist-noise", n, i -> noisy(test[i], r, 40));
        write(out, "uniform-noise", n, i -> { byte[] b = new byte[S * S]; r.nextBytes(b); return b; });
        write(out, "constant", n, i -> { byte[] b = new byte[S * S]; java.util.Arrays.fill(b, (byte) r.nextInt(256)); return b; });
    }

    interface Maker { byte[] make(int i); }

    static void write(Path dir, String name, int n, Maker maker) throws IOException {
        Path file = dir.resolve(name + "-images-idx3-ubyte");
        try (DataOutputStream o = new DataOutputStream(Files.newOutputStream(file))) {
            o.writeInt(0x00000803);
            o.writeInt(n);
            o.writeInt(S);
            o.writeInt(S);
            for (int i = 0; i < n; i++) {
                o.write(maker.make(i));
            }
        }
        System.out.println(file);
    }

    static byte[][] readIdx(Path gz, int from, int n) throws IOException {
        try (InputStream raw = Files.newInputStream(gz); DataInputStream in = new DataInputStream(new GZIPInputStream(raw))) {
            in.readInt();
            int count = in.readInt();
            in.readInt();
            in.readInt();
            if (from + n > count) {
                throw new IOException(gz + ": has " + count + " images, need " + (from + n));
            }
            in.skipNBytes((long) from * S * S);
            byte[][] out = new byte[n][S * S];
            for (byte[] b : out) {
                in.readFully(b);
            }
            return out;
        }
    }

    /** A glyph in a random font, scaled into a 20x20 box and centred by its centre of mass, as MNIST. */
    static byte[] glyphs(Random r, String chars, boolean invert) {
        String[] fonts = {Font.SANS_SERIF, Font.SERIF, Font.MONOSPACED, Font.DIALOG};
        BufferedImage big = new BufferedImage(112, 112, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = big.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.setFont(new Font(fonts[r.nextInt(fonts.length)], r.nextBoolean() ? Font.BOLD : Font.PLAIN, 70 + r.nextInt(20)));
        g.rotate((r.nextDouble() - 0.5) * 0.5, 56, 56);
        g.drawString(String.valueOf(chars.charAt(r.nextInt(chars.length()))), 30, 85);
        g.dispose();
        return mnistBox(big, invert);
    }

    /** Two to four random cubic pen strokes, like handwritten characters of another alphabet. */
    static byte[] strokes(Random r, boolean invert) {
        BufferedImage big = new BufferedImage(112, 112, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = big.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.setStroke(new BasicStroke(6 + r.nextInt(6), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
        int k = 2 + r.nextInt(3);
        for (int s = 0; s < k; s++) {
            g.draw(new CubicCurve2D.Double(p(r), p(r), p(r), p(r), p(r), p(r), p(r), p(r)));
        }
        g.dispose();
        return mnistBox(big, invert);
    }

    static double p(Random r) {
        return 16 + r.nextDouble() * 80;
    }

    static byte[] mnistBox(BufferedImage big, boolean invert) {
        int x0 = 112, y0 = 112, x1 = -1, y1 = -1;
        for (int y = 0; y < 112; y++) {
            for (int x = 0; x < 112; x++) {
                if ((big.getRaster().getSample(x, y, 0)) > 0) {
                    x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y);
                }
            }
        }
        byte[] out = new byte[S * S];
        if (x1 < 0) {
            return out;
        }
        int w = x1 - x0 + 1, h = y1 - y0 + 1;
        double scale = 20.0 / Math.max(w, h);
        int tw = Math.max(1, (int) Math.round(w * scale)), th = Math.max(1, (int) Math.round(h * scale));
        BufferedImage small = new BufferedImage(tw, th, BufferedImage.TYPE_BYTE_GRAY);
        Graphics2D g = small.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
        g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
        g.drawImage(big.getSubimage(x0, y0, w, h).getScaledInstance(tw, th, java.awt.Image.SCALE_AREA_AVERAGING), 0, 0, null);
        g.dispose();
        double mx = 0, my = 0, m = 0;
        for (int y = 0; y < th; y++) {
            for (int x = 0; x < tw; x++) {
                int v = small.getRaster().getSample(x, y, 0);
                mx += v * x; my += v * y; m += v;
            }
        }
        int ox = (int) Math.round(14 - (m > 0 ? mx / m : tw / 2.0)), oy = (int) Math.round(14 - (m > 0 ? my / m : th / 2.0));
        for (int y = 0; y < th; y++) {
            for (int x = 0; x < tw; x++) {
                int tx = x + ox, ty = y + oy;
                if (tx >= 0 && tx < S && ty >= 0 && ty < S) {
                    out[ty * S + tx] = (byte) small.getRaster().getSample(x, y, 0);
                }
            }
        }
        return invert ? map(out, v -> 255 - v) : out;
    }

    interface Op { int apply(int v); }

    static byte[] map(byte[] b, Op op) {
        byte[] o = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            o[i] = (byte) op.apply(b[i] & 0xFF);
        }
        return o;
    }

    static byte[] vflip(byte[] b) {
        byte[] o = new byte[b.length];
        for (int y = 0; y < S; y++) {
            System.arraycopy(b, (S - 1 - y) * S, o, y * S, S);
        }
        return o;
    }

    static byte[] blur(byte[] b) {
        byte[] o = new byte[b.length];
        for (int y = 0; y < S; y++) {
            for (int x = 0; x < S; x++) {
                int s = 0, c = 0;
                for (int dy = -1; dy <= 1; dy++) {
                    for (int dx = -1; dx <= 1; dx++) {
                        int yy = y + dy, xx = x + dx;
                        if (yy >= 0 && yy < S && xx >= 0 && xx < S) {
                            s += b[yy * S + xx] & 0xFF; c++;
                        }
                    }
                }
                o[y * S + x] = (byte) Math.round((double) s / c);
            }
        }
        return o;
    }

    static byte[] noisy(byte[] b, Random r, double sigma) {
        return map(b, v -> (int) Math.max(0, Math.min(255, Math.round(v + r.nextGaussian() * sigma))));
    }
}
