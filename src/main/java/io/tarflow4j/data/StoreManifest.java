package io.tarflow4j.data;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The {@code manifest.json} of an {@link ImageStore}: what the store holds and, for every data
 * file, its size and CRC32C. {@code tarflow prepare} writes it last and atomically, so a folder
 * without one is an unfinished store.
 *
 * @param images the number of images
 * @param channels channels per image (1 or 3)
 * @param height image height in pixels
 * @param width image width in pixels
 * @param classNames the class names indexed by label; empty when unlabelled
 * @param labelled whether the images have labels
 * @param imagesPerFile images in every pixel file but the last
 * @param pixelFiles the pixel files in order
 * @param index the index file (label and CRC32C per image)
 * @param source what the store was prepared from, in words
 * @param skipped the source files that could not be read and were left out
 */
public record StoreManifest(
        int images,
        int channels,
        int height,
        int width,
        List<String> classNames,
        boolean labelled,
        int imagesPerFile,
        List<FileEntry> pixelFiles,
        FileEntry index,
        String source,
        List<String> skipped) {

    /** The manifest's file name in the store folder. */
    public static final String FILE = "manifest.json";
    /** The value of the {@code format} field. */
    public static final String FORMAT = "tarflow4j-image-store";
    /** The store layout this code writes and reads. */
    public static final int VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * One data file of the store.
     *
     * @param name the file name inside the store folder
     * @param images the images it holds (for the index file: all of them)
     * @param bytes its exact size
     * @param crc32c the CRC32C of its whole content
     */
    public record FileEntry(String name, int images, long bytes, long crc32c) {}

    /** Copies the lists. */
    public StoreManifest {
        classNames = List.copyOf(classNames);
        pixelFiles = List.copyOf(pixelFiles);
        skipped = List.copyOf(skipped);
    }

    /**
     * Returns the bytes of one image.
     *
     * @return {@code channels * height * width}
     */
    public int imageLength() {
        return channels * height * width;
    }

    /**
     * Writes the manifest as JSON.
     *
     * @return UTF-8 bytes
     */
    public byte[] toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("images", images);
        root.put("channels", channels);
        root.put("height", height);
        root.put("width", width);
        root.put("labelled", labelled);
        ArrayNode classes = root.putArray("classes");
        classNames.forEach(classes::add);
        root.put("images_per_file", imagesPerFile);
        ArrayNode files = root.putArray("pixel_files");
        pixelFiles.forEach(f -> files.add(fileJson(f)));
        root.set("index_file", fileJson(index));
        root.put("source", source);
        ArrayNode bad = root.putArray("skipped");
        skipped.forEach(bad::add);
        try {
            return JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a manifest as JSON", e);
        }
    }

    private static ObjectNode fileJson(FileEntry f) {
        ObjectNode n = JSON.createObjectNode();
        n.put("name", f.name());
        n.put("images", f.images());
        n.put("bytes", f.bytes());
        n.put("crc32c", String.format(Locale.ROOT, "%08x", f.crc32c()));
        return n;
    }

    /**
     * Reads and checks a store's manifest.
     *
     * @param dir the store folder
     * @return the manifest
     * @throws DataException naming the file when it is missing (saying whether the folder is an
     *     unfinished store), not JSON, of another format or version, or inconsistent
     * @throws IOException when it cannot be read
     */
    public static StoreManifest read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DataException(
                    file,
                    "missing: "
                            + (StoreWriter.holdsStoreFiles(dir)
                                    ? "the folder is an unfinished image store (tarflow prepare was interrupted or failed); run tarflow prepare again"
                                    : "expected a store made by tarflow prepare"));
        }
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new DataException(file, "not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !FORMAT.equals(root.path("format").asText())) {
            throw new DataException(
                    file,
                    "expected format '" + FORMAT + "', found "
                            + (root == null
                                    ? "nothing"
                                    : "'" + root.path("format").asText() + "'"));
        }
        int version = root.path("version").asInt(-1);
        if (version != VERSION) {
            throw new DataException(
                    file,
                    "store layout version " + version + ", this tarflow4j reads version " + VERSION
                            + ": prepare the store again with this version (tarflow prepare)");
        }
        try {
            List<String> classes = new ArrayList<>();
            root.path("classes").forEach(n -> classes.add(n.asText()));
            List<FileEntry> pixels = new ArrayList<>();
            for (JsonNode n : required(root, "pixel_files")) {
                pixels.add(fileEntry(n));
            }
            List<String> skipped = new ArrayList<>();
            root.path("skipped").forEach(n -> skipped.add(n.asText()));
            StoreManifest m = new StoreManifest(
                    required(root, "images").intValue(),
                    required(root, "channels").intValue(),
                    required(root, "height").intValue(),
                    required(root, "width").intValue(),
                    classes,
                    required(root, "labelled").booleanValue(),
                    required(root, "images_per_file").intValue(),
                    pixels,
                    fileEntry(required(root, "index_file")),
                    root.path("source").asText(""),
                    skipped);
            m.check();
            return m;
        } catch (IllegalArgumentException e) {
            throw new DataException(file, e.getMessage(), e);
        }
    }

    private static JsonNode required(JsonNode node, String field) {
        JsonNode value = node.get(field);
        if (value == null || value.isNull()) {
            throw new IllegalArgumentException("field '" + field + "' is missing");
        }
        return value;
    }

    private static FileEntry fileEntry(JsonNode n) {
        String name = required(n, "name").asText();
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
            throw new IllegalArgumentException("file name '" + name + "' is not a plain file name");
        }
        long crc;
        try {
            crc = Long.parseLong(required(n, "crc32c").asText(), 16);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("crc32c of " + name + " is not hexadecimal: " + n.get("crc32c"));
        }
        return new FileEntry(
                name, required(n, "images").intValue(), required(n, "bytes").longValue(), crc);
    }

    /** Checks that the counts and sizes agree with each other. */
    private void check() {
        if (channels != 1 && channels != 3 || height <= 0 || width <= 0 || images <= 0) {
            throw new IllegalArgumentException("expected images > 0, channels 1 or 3 and a positive size, found "
                    + images + " x " + channels + "x" + height + "x" + width);
        }
        if (labelled == classNames.isEmpty()) {
            throw new IllegalArgumentException(
                    labelled ? "labelled but lists no classes" : "unlabelled but lists classes");
        }
        if (imagesPerFile <= 0 || pixelFiles.size() != (images + (long) imagesPerFile - 1) / imagesPerFile) {
            throw new IllegalArgumentException(images + " images at " + imagesPerFile + " per file need "
                    + ((images + (long) imagesPerFile - 1) / Math.max(1, imagesPerFile)) + " pixel files, "
                    + pixelFiles.size() + " listed");
        }
        for (int k = 0; k < pixelFiles.size(); k++) {
            FileEntry f = pixelFiles.get(k);
            int expected = Math.min(imagesPerFile, images - k * imagesPerFile);
            if (f.images() != expected || f.bytes() != (long) expected * imageLength()) {
                throw new IllegalArgumentException(f.name() + " is listed with " + f.images() + " images of "
                        + f.bytes() + " bytes, expected " + expected + " images of " + (long) expected * imageLength());
            }
        }
        if (index.images() != images || index.bytes() != (long) images * ImageStore.INDEX_ENTRY_BYTES) {
            throw new IllegalArgumentException(index.name() + " is listed with " + index.bytes() + " bytes, expected "
                    + (long) images * ImageStore.INDEX_ENTRY_BYTES);
        }
    }

    /**
     * Returns the manifest as readable text, for logs.
     *
     * @return e.g. {@code 11000 x 3x256x256, 3 classes, 3 pixel files}
     */
    public String describe() {
        return String.format(
                Locale.ROOT,
                "%d x %dx%dx%d, %s, %d pixel file(s), %.2f GB",
                images,
                channels,
                height,
                width,
                labelled ? classNames.size() + " classes" : "unlabelled",
                pixelFiles.size(),
                (double) images * imageLength() / 1e9);
    }

    /** The manifest text (for tests and messages). */
    @Override
    public String toString() {
        return new String(toJson(), StandardCharsets.UTF_8);
    }
}
