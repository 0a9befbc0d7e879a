package io.tarflow4j.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Prepares an {@link ImageStore} from a source ({@code tarflow prepare}): a folder of images
 * (class sub-folders as {@link ImageFolderReader} reads them, decoded on several threads,
 * unreadable files skipped and listed), IDX image files, or NumPy {@code .npy}/{@code .npz}
 * arrays of uint8 images in (N, H, W, C), (N, C, H, W), (N, H, W) or flat (N, C*H*W) layout (flat
 * rows in CHW order, as the downsampled-ImageNet and CIFAR releases store them), read streaming so
 * that files of any size pass through a small buffer.
 *
 * <p>Labels: an npz's {@code labels} (or {@code y}, {@code arr_1}) array, the IDX labels file
 * beside an IDX images file, or {@link Options#labels()}. Numeric labels become classes
 * {@code label - base}, named by the source's label value; the base is {@link Options#labelBase()}
 * or, when that is -1, 1 if the smallest label is at least 1 and the largest is 1000 (the
 * downsampled-ImageNet releases number their classes 1..1000), else 0.
 */
public final class StorePreparer {
    private static final int IMAGENET_CLASSES = 1000;
    private static final List<String> IMAGE_KEYS = List.of("data", "images", "x", "arr_0");
    private static final List<String> LABEL_KEYS = List.of("labels", "y", "arr_1");
    private static final int DECODE_PER_THREAD = 8;

    private StorePreparer() {}

    /** How an array's dimensions after N are read. */
    public enum Layout {
        /** From the shape: (H, W, C) or (C, H, W) by where the 1 or 3 is, (H, W) gray, (L) flat. */
        AUTO,
        /** (N, H, W, C). */
        NHWC,
        /** (N, C, H, W). */
        NCHW,
        /** (N, C*H*W), each row in CHW order. */
        FLAT
    }

    /**
     * How to prepare.
     *
     * @param imageSize square size to bring images to, or 0 to keep the source's (for a folder: the
     *     shorter side of its first image)
     * @param channels 1 or 3 to convert to, or 0 to keep the source's
     * @param layout how array dimensions are read
     * @param labelBase the source's first label value (0 or 1), or -1 to decide as the class comment says
     * @param labels a labels file (.npy or IDX) for a single .npy or IDX images source, or null
     * @param threads decoding threads for a folder (1 or more)
     * @param maxFileBytes the largest pixel file
     * @param overwrite whether an existing finished store may be replaced
     */
    public record Options(
            int imageSize,
            int channels,
            Layout layout,
            int labelBase,
            Path labels,
            int threads,
            long maxFileBytes,
            boolean overwrite) {
        /** Validates the options. */
        public Options {
            if (imageSize < 0
                    || channels != 0 && channels != 1 && channels != 3
                    || threads < 1
                    || labelBase < -1
                    || labelBase > 1
                    || maxFileBytes < 1
                    || layout == null) {
                throw new IllegalArgumentException("bad prepare options: size " + imageSize + ", channels " + channels
                        + ", threads " + threads + ", label base " + labelBase + ", file bytes " + maxFileBytes);
            }
        }

        /**
         * Returns the defaults: source size and channels, layout from the shape, label base decided
         * from the labels, all cores, 1 GiB files, no overwrite.
         *
         * @return the options
         */
        public static Options defaults() {
            return new Options(
                    0,
                    0,
                    Layout.AUTO,
                    -1,
                    null,
                    java.lang.Runtime.getRuntime().availableProcessors(),
                    StoreWriter.DEFAULT_FILE_BYTES,
                    false);
        }
    }

    /** Told the total once it is known, then the running count of images done. */
    public interface Progress {
        /**
         * Tells how many images (or files) there are.
         *
         * @param total the count
         */
        void start(long total);

        /**
         * Tells how many are done.
         *
         * @param done the running count
         */
        void done(long done);
    }

    /**
     * Prepares a store.
     *
     * @param sources one folder, or one or more .npy, .npz or IDX files of the same image shape
     * @param out the store folder
     * @param options how to prepare
     * @param progress told the progress
     * @param notes told, in words, each decision worth a line (label base, skipped files)
     * @return the written store's manifest
     * @throws DataException naming the file at fault when a source is bad
     * @throws IOException when a file cannot be read or written
     */
    public static StoreManifest prepare(
            List<Path> sources, Path out, Options options, Progress progress, Consumer<String> notes)
            throws IOException {
        if (sources.isEmpty()) {
            throw new IllegalArgumentException("no source given");
        }
        for (Path s : sources) {
            if (!Files.exists(s)) {
                throw new DataException(s, "no such file or folder");
            }
            if (s.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
                throw new DataException(s, "is also the output folder; give another --out");
            }
        }
        if (Files.isDirectory(sources.getFirst())) {
            if (sources.size() > 1) {
                throw new DataException(sources.get(1), "a folder source must be the only source");
            }
            return fromFolder(sources.getFirst(), out, options, progress, notes);
        }
        return fromArrays(sources, out, options, progress, notes);
    }

    // ---- image folders ------------------------------------------------------------------------

    private static StoreManifest fromFolder(Path dir, Path out, Options o, Progress progress, Consumer<String> notes)
            throws IOException {
        ImageFolderReader.Listing listing = ImageFolderReader.listing(dir);
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int c = 0; c < listing.files().size(); c++) {
            for (Path f : listing.files().get(c)) {
                files.add(f);
                labels.add(c);
            }
        }
        progress.start(files.size());
        List<String> skipped = new ArrayList<>();
        int first = 0;
        int channels = o.channels();
        int size = o.imageSize();
        // the first readable image fixes the size and channels when the options do not
        while (channels == 0 || size == 0) {
            if (first == files.size()) {
                throw new DataException(
                        dir,
                        "expected readable image files, found none (" + skipped.size() + " unreadable: "
                                + String.join(", ", skipped.subList(0, Math.min(5, skipped.size()))) + ")");
            }
            try {
                java.awt.image.BufferedImage image = io.tarflow4j.io.Images.decode(
                        files.get(first),
                        io.tarflow4j.io.Images.COMMON,
                        io.tarflow4j.io.Images.MAX_PIXELS); // header size checked first
                if (image != null) {
                    channels = channels == 0 ? ImageOps.channelsOf(image) : channels;
                    size = size == 0 ? Math.min(image.getWidth(), image.getHeight()) : size;
                    break;
                }
                skipped.add(relative(dir, files.get(first)) + " (not a readable image)");
            } catch (IOException | RuntimeException e) {
                skipped.add(relative(dir, files.get(first)) + " (" + e.getMessage() + ")");
            }
            first++;
        }
        List<String> classes = listing.classNames().isEmpty() ? null : listing.classNames();
        int c = channels;
        int s = size;
        ExecutorService pool = Executors.newFixedThreadPool(o.threads(), r -> {
            Thread t = new Thread(r, "tarflow4j-prepare");
            t.setDaemon(true);
            return t;
        });
        try (StoreWriter writer = StoreWriter.create(out, c, s, s, classes, o.maxFileBytes(), o.overwrite())) {
            int chunk = o.threads() * DECODE_PER_THREAD;
            for (int start = first; start < files.size(); start += chunk) {
                List<Future<byte[]>> decoded = new ArrayList<>();
                for (int i = start; i < Math.min(files.size(), start + chunk); i++) {
                    Path f = files.get(i);
                    decoded.add(pool.submit(() -> ImageFolderReader.readImage(f, c, s, ResizePolicy.RESIZE, null)));
                }
                for (int j = 0; j < decoded.size(); j++) {
                    int i = start + j;
                    try {
                        writer.add(decoded.get(j).get(), labels.get(i));
                    } catch (ExecutionException e) {
                        Throwable cause = e.getCause();
                        if (!(cause instanceof DataException)) {
                            throw cause instanceof IOException io ? io : new IOException(cause);
                        }
                        skipped.add(relative(dir, files.get(i)) + " ("
                                + cause.getMessage().replace(files.get(i) + ": ", "") + ")");
                    }
                    progress.done(i + 1);
                }
            }
            if (!skipped.isEmpty()) {
                notes.accept("skipped " + skipped.size() + " unreadable file(s): "
                        + String.join("; ", skipped.subList(0, Math.min(5, skipped.size())))
                        + (skipped.size() > 5 ? "; ... (all listed in " + StoreManifest.FILE + ")" : ""));
            }
            if (writer.count() == 0) {
                throw new DataException(
                        dir, "expected readable image files, found none (" + skipped.size() + " unreadable)");
            }
            return writer.finish(dir.toAbsolutePath().normalize().toString(), skipped);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while preparing " + out, e);
        } finally {
            pool.shutdownNow();
        }
    }

    private static String relative(Path dir, Path file) {
        return dir.relativize(file).toString();
    }

    // ---- arrays: .npy, .npz, IDX -------------------------------------------------------------

    /** One source file of images: how to open its pixel data, its image shape, its labels. */
    private record Part(Path file, String what, ArrayShape shape, int count, int[] labels, PixelStream open) {}

    /** Opens a stream at the first pixel byte of a part. */
    @FunctionalInterface
    private interface PixelStream {
        InputStream open() throws IOException;
    }

    /** How one image lies in an array: C, H, W and whether it is HWC. */
    private record ArrayShape(int channels, int height, int width, boolean hwc) {
        int length() {
            return channels * height * width;
        }

        String describe() {
            return channels + "x" + height + "x" + width + (hwc ? " (HWC)" : "");
        }
    }

    private static StoreManifest fromArrays(
            List<Path> sources, Path out, Options o, Progress progress, Consumer<String> notes) throws IOException {
        if (o.labels() != null && sources.size() > 1) {
            throw new DataException(
                    o.labels(), "a labels file goes with a single images file, " + sources.size() + " given");
        }
        List<Part> parts = new ArrayList<>();
        for (Path file : sources) {
            parts.add(part(file, o));
        }
        Part head = parts.getFirst();
        long total = 0;
        for (Part p : parts) {
            if (!p.shape().equals(head.shape())) {
                throw new DataException(
                        p.file(),
                        "images are " + p.shape().describe() + ", but " + head.file() + " has "
                                + head.shape().describe() + "; all sources must have one image shape");
            }
            if ((p.labels() == null) != (head.labels() == null)) {
                throw new DataException(
                        p.file(),
                        (p.labels() == null ? "has no labels" : "has labels") + ", but "
                                + head.file() + (head.labels() == null ? " has none" : " has them")
                                + "; give all sources labels or none");
            }
            total += p.count();
        }
        if (total > Integer.MAX_VALUE) {
            throw new DataException(
                    head.file(), total + " images are more than a store holds (" + Integer.MAX_VALUE + ")");
        }
        List<String> classes = null;
        int base = 0;
        if (head.labels() != null) {
            int min = Integer.MAX_VALUE;
            int max = Integer.MIN_VALUE;
            for (Part p : parts) {
                for (int label : p.labels()) {
                    min = Math.min(min, label);
                    max = Math.max(max, label);
                }
            }
            base = o.labelBase() >= 0 ? o.labelBase() : (min >= 1 && max == IMAGENET_CLASSES ? 1 : 0);
            if (min < base) {
                int lowest = min;
                Part at = parts.stream()
                        .filter(p -> Arrays.stream(p.labels()).anyMatch(l -> l == lowest))
                        .findFirst()
                        .orElse(head);
                throw new DataException(
                        at.file(),
                        "holds label " + min + ", below the label base " + base
                                + (min < 0 ? " (labels must be 0 or more)" : " (give --label-base 0)"));
            }
            classes = new ArrayList<>();
            for (int k = base; k <= max; k++) {
                classes.add(Integer.toString(k));
            }
            notes.accept(String.format(
                    Locale.ROOT,
                    "labels %d..%d -> classes %d..%d (label base %d%s); class names are" + " the source's label values",
                    min,
                    max,
                    min - base,
                    max - base,
                    base,
                    o.labelBase() < 0 ? ", decided from the labels: give --label-base to choose" : ""));
        }
        int channels = o.channels() == 0 ? head.shape().channels() : o.channels();
        int size = o.imageSize();
        if (size == 0) {
            if (head.shape().height() != head.shape().width()) {
                size = Math.min(head.shape().height(), head.shape().width());
            } else {
                size = head.shape().height();
            }
        }
        progress.start(total);
        long done = 0;
        try (StoreWriter writer =
                StoreWriter.create(out, channels, size, size, classes, o.maxFileBytes(), o.overwrite())) {
            ArrayShape shape = head.shape();
            byte[] raw = new byte[shape.length()];
            byte[] chw = shape.hwc() ? new byte[raw.length] : raw;
            for (Part p : parts) {
                try (InputStream in = p.open().open()) {
                    for (int i = 0; i < p.count(); i++) {
                        if (in.readNBytes(raw, 0, raw.length) < raw.length) {
                            throw new DataException(
                                    p.what() + ": truncated: the data ends in image " + i + " of " + p.count());
                        }
                        if (shape.hwc()) {
                            toChw(raw, chw, shape);
                        }
                        byte[] image = ImageOps.convertChannels(
                                chw, shape.channels(), channels, shape.height() * shape.width());
                        if (shape.height() != size || shape.width() != size) {
                            image = ImageOps.resizeAndCenterCrop(image, channels, shape.height(), shape.width(), size);
                        }
                        writer.add(image, p.labels() == null ? 0 : p.labels()[i] - base);
                        progress.done(++done);
                    }
                } catch (ZipException e) {
                    throw new DataException(p.file(), "corrupt zip data: " + e.getMessage(), e);
                }
            }
            String names = String.join(
                    ", ",
                    sources.stream()
                            .map(f -> f.toAbsolutePath().normalize().toString())
                            .toList());
            return writer.finish(names, List.of());
        }
    }

    private static void toChw(byte[] hwc, byte[] chw, ArrayShape s) {
        int plane = s.height() * s.width();
        int c = s.channels();
        for (int p = 0, k = 0; p < plane; p++) {
            for (int ch = 0; ch < c; ch++) {
                chw[ch * plane + p] = hwc[k++];
            }
        }
    }

    private static Part part(Path file, Options o) throws IOException {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".npz")) {
            return npzPart(file, o);
        }
        if (name.endsWith(".npy")) {
            NpyArray header;
            try (InputStream in = buffered(Files.newInputStream(file))) {
                header = NpyArray.read(in, file.toString());
            }
            int[] labels = o.labels() == null ? null : readLabels(o.labels());
            return arrayPart(
                    file,
                    file.toString(),
                    header,
                    labels,
                    () -> {
                        InputStream in = buffered(Files.newInputStream(file));
                        NpyArray.read(in, file.toString());
                        return in;
                    },
                    o);
        }
        return idxPart(file, o);
    }

    private static Part npzPart(Path file, Options o) throws IOException {
        try (ZipFile zip = openZip(file)) {
            ZipEntry images = entry(zip, IMAGE_KEYS);
            if (images == null) {
                List<String> keys = zip.stream().map(ZipEntry::getName).toList();
                throw new DataException(
                        file, "expected an images array named one of " + IMAGE_KEYS + ", found " + keys);
            }
            String what = file + "[" + images.getName() + "]";
            NpyArray header;
            try (InputStream in = buffered(zip.getInputStream(images))) {
                header = NpyArray.read(in, what);
            }
            int[] labels;
            ZipEntry labelEntry = entry(zip, LABEL_KEYS);
            if (o.labels() != null) {
                labels = readLabels(o.labels());
            } else if (labelEntry != null) {
                String labelWhat = file + "[" + labelEntry.getName() + "]";
                try (InputStream in = buffered(zip.getInputStream(labelEntry))) {
                    labels = NpyArray.read(in, labelWhat).readInts(in);
                }
            } else {
                labels = null;
            }
            String entryName = images.getName();
            return arrayPart(
                    file,
                    what,
                    header,
                    labels,
                    () -> {
                        ZipFile z = openZip(file);
                        InputStream in = buffered(z.getInputStream(z.getEntry(entryName)));
                        NpyArray.read(in, what);
                        return new java.io.FilterInputStream(in) {
                            @Override
                            public void close() throws IOException {
                                try {
                                    super.close();
                                } finally {
                                    z.close();
                                }
                            }
                        };
                    },
                    o);
        }
    }

    private static ZipFile openZip(Path file) throws IOException {
        try {
            return new ZipFile(file.toFile());
        } catch (ZipException e) {
            throw new DataException(file, "not a readable .npz (zip) file: " + e.getMessage(), e);
        }
    }

    private static ZipEntry entry(ZipFile zip, List<String> keys) {
        for (String key : keys) {
            ZipEntry e = zip.getEntry(key + ".npy");
            if (e != null) {
                return e;
            }
        }
        return null;
    }

    private static Part arrayPart(Path file, String what, NpyArray a, int[] labels, PixelStream open, Options o)
            throws IOException {
        if (!a.isUint8()) {
            throw new DataException(what + ": images of type '" + a.dtype() + "', expected uint8 (in NumPy:"
                    + " array.astype(numpy.uint8) after scaling to 0..255)");
        }
        if (a.fortranOrder()) {
            throw new DataException(
                    what + ": the array is in Fortran order; save it in C order" + " (numpy.ascontiguousarray)");
        }
        if (a.shape().length < 2 || a.shape().length > 4) {
            throw new DataException(what + ": images of shape " + a.shapeText()
                    + ", expected (N, H, W, C), (N, C, H, W)," + " (N, H, W) or (N, C*H*W)");
        }
        if (a.shape()[0] > Integer.MAX_VALUE) {
            throw new DataException(what + ": " + a.shape()[0] + " images are more than a store holds");
        }
        ArrayShape shape = shapeOf(what, a, o.layout());
        int count = (int) a.shape()[0];
        checkLabels(labels, count, what, o.labels());
        return new Part(file, what, shape, count, labels, open);
    }

    private static ArrayShape shapeOf(String what, NpyArray a, Layout layout) throws DataException {
        long[] d = Arrays.copyOfRange(a.shape(), 1, a.shape().length);
        for (long v : d) {
            if (v <= 0 || v > 1 << 16) {
                throw new DataException(what + ": implausible image dimension " + v + " in shape " + a.shapeText());
            }
        }
        String expected = " (--layout " + layout.name().toLowerCase(Locale.ROOT) + ")";
        switch (d.length) {
            case 1 -> {
                if (layout != Layout.AUTO && layout != Layout.FLAT) {
                    throw new DataException(what + ": shape " + a.shapeText() + " is flat, not " + layout + expected);
                }
                long len = d[0];
                for (int c : new int[] {3, 1}) {
                    long side = Math.round(Math.sqrt(len / (double) c));
                    if (len % c == 0 && side * side * c == len) {
                        return new ArrayShape(c, (int) side, (int) side, false);
                    }
                }
                throw new DataException(what + ": flat images of " + len + " values are not C x S x S for C = 1 or 3"
                        + " and a square side S");
            }
            case 2 -> {
                if (layout != Layout.AUTO) {
                    throw new DataException(
                            what + ": shape " + a.shapeText() + " is (N, H, W), not " + layout + expected);
                }
                return new ArrayShape(1, (int) d[0], (int) d[1], false);
            }
            default -> {
                boolean last = d[2] == 1 || d[2] == 3;
                boolean first = d[0] == 1 || d[0] == 3;
                Layout chosen =
                        layout == Layout.AUTO ? (last ? Layout.NHWC : first ? Layout.NCHW : Layout.AUTO) : layout;
                if (chosen == Layout.NHWC && last) {
                    return new ArrayShape((int) d[2], (int) d[0], (int) d[1], true);
                }
                if (chosen == Layout.NCHW && first) {
                    return new ArrayShape((int) d[0], (int) d[1], (int) d[2], false);
                }
                throw new DataException(what + ": shape " + a.shapeText() + " has no channel axis of 1 or 3 "
                        + (layout == Layout.AUTO ? "first or last" : "where " + layout + " puts it") + expected);
            }
        }
    }

    private static Part idxPart(Path file, Options o) throws IOException {
        IdxReader.Header header;
        try (InputStream in = IdxReader.open(file)) {
            header = IdxReader.readHeader(file, in, IdxReader.IMAGES_MAGIC, 3);
        }
        int[] dims = header.dims();
        if (dims[1] <= 0 || dims[2] <= 0) {
            throw new DataException(file, "expected positive image dimensions, found " + dims[1] + " x " + dims[2]);
        }
        Path labelFile = o.labels() != null ? o.labels() : Datasets.labelsBeside(file);
        int[] labels = labelFile == null ? null : readLabels(labelFile);
        checkLabels(labels, dims[0], file.toString(), labelFile);
        long headerBytes = header.bytes();
        return new Part(file, file.toString(), new ArrayShape(1, dims[1], dims[2], false), dims[0], labels, () -> {
            InputStream in = IdxReader.open(file);
            in.skipNBytes(headerBytes);
            return in;
        });
    }

    private static void checkLabels(int[] labels, int count, String what, Path labelFile) throws DataException {
        if (labels != null && labels.length != count) {
            throw new DataException((labelFile != null ? labelFile.toString() : what) + ": " + labels.length
                    + " labels for " + count + " images in " + what);
        }
    }

    private static int[] readLabels(Path file) throws IOException {
        if (file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy")) {
            try (InputStream in = buffered(Files.newInputStream(file))) {
                return NpyArray.read(in, file.toString()).readInts(in);
            }
        }
        return IdxReader.readLabels(file);
    }

    private static InputStream buffered(InputStream in) {
        return new BufferedInputStream(in, 1 << 20);
    }
}
