package io.tarflow4j.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
 * mapping each tensor name to its dtype, shape and data offsets (plus an optional
 * {@code __metadata__} map of strings), then the raw little-endian tensor data.
 *
 * <p>Files of any size: reading maps the data (tensors are slices of the mapping, nothing is
 * copied to the heap) and writing streams each tensor's bytes to the file.
 */
public final class Safetensors {

    /** The largest header accepted, in bytes. */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** Data regions smaller than this are copied to the heap instead of memory-mapped. */
    static final long MAP_THRESHOLD = 1L << 20;

    private static final String METADATA_KEY = "__metadata__";

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private Safetensors() {}

    private record Entry(String name, DType dtype, long[] shape, long begin, long end) {}

    /**
     * Reads a safetensors file.
     *
     * @param path the file
     * @return the tensors in header order and the metadata
     * @throws FormatException if the file is not valid safetensors; the message names the file and
     *     the first problem found
     * @throws IOException if the file cannot be read
     */
    public static SafetensorsFile read(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new FormatException(
                        path, "file too short: expected at least 8 bytes (header length), found " + size);
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, path);
            long headerLength = lenBuf.getLong(0);
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
                throw new FormatException(
                        path,
                        "header length " + Long.toUnsignedString(headerLength) + " is absurd: expected at most "
                                + MAX_HEADER_BYTES + " bytes");
            }
            if (headerLength > size - 8) {
                throw new FormatException(
                        path,
                        "header length " + headerLength + " exceeds the " + (size - 8)
                                + " bytes that follow the length field");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLength);
            readFully(ch, headerBuf, 8, path);
            long dataStart = 8 + headerLength;
            long dataLength = size - dataStart;

            Map<String, String> metadata = new LinkedHashMap<>();
            List<Entry> entries = parseHeader(path, headerBuf.array(), dataLength, metadata);

            ByteRegion region;
            if (dataLength < MAP_THRESHOLD) {
                ByteBuffer heap = ByteBuffer.allocate((int) dataLength);
                readFully(ch, heap, dataStart, path);
                region = ByteRegion.of(heap.flip().asReadOnlyBuffer());
            } else {
                region = ByteRegion.map(ch, dataStart, dataLength);
            }
            LinkedHashMap<String, RawTensor> tensors = new LinkedHashMap<>();
            for (Entry e : entries) {
                tensors.put(e.name, new RawTensor(e.dtype, e.shape, region.slice(e.begin, e.end - e.begin)));
            }
            return new SafetensorsFile(path, tensors, metadata);
        }
    }

    private static List<Entry> parseHeader(Path path, byte[] header, long dataLength, Map<String, String> metadata)
            throws FormatException {
        JsonNode root;
        try {
            root = JSON.readTree(header);
        } catch (JacksonException e) {
            throw new FormatException(path, "header is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new FormatException(path, "header is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new FormatException(
                    path, "header: expected a JSON object, found " + (root == null ? "nothing" : root.getNodeType()));
        }
        List<Entry> entries = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> fields = root.properties().iterator();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            String name = field.getKey();
            JsonNode value = field.getValue();
            if (name.equals(METADATA_KEY)) {
                parseMetadata(path, value, metadata);
                continue;
            }
            entries.add(parseEntry(path, name, value, dataLength));
        }
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        for (int i = 1; i < sorted.size(); i++) {
            Entry prev = sorted.get(i - 1);
            Entry cur = sorted.get(i);
            if (cur.begin < prev.end) {
                throw new FormatException(
                        path,
                        "tensors \"" + prev.name + "\" [" + prev.begin + ", " + prev.end + ") and \"" + cur.name
                                + "\" [" + cur.begin + ", " + cur.end + ") overlap");
            }
        }
        return entries;
    }

    private static void parseMetadata(Path path, JsonNode value, Map<String, String> metadata) throws FormatException {
        if (!value.isObject()) {
            throw new FormatException(
                    path, METADATA_KEY + ": expected an object of strings, found " + value.getNodeType());
        }
        Iterator<Map.Entry<String, JsonNode>> it = value.properties().iterator();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> m = it.next();
            if (!m.getValue().isTextual()) {
                throw new FormatException(
                        path,
                        METADATA_KEY + "." + m.getKey() + ": expected a string, found "
                                + m.getValue().getNodeType());
            }
            metadata.put(m.getKey(), m.getValue().textValue());
        }
    }

    private static Entry parseEntry(Path path, String name, JsonNode value, long dataLength) throws FormatException {
        String where = "tensor \"" + name + "\"";
        if (!value.isObject()) {
            throw new FormatException(path, where + ": expected an object, found " + value.getNodeType());
        }
        JsonNode dtypeNode = value.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new FormatException(path, where + ": expected a string \"dtype\", found " + dtypeNode);
        }
        DType dtype;
        try {
            dtype = DType.parse(dtypeNode.textValue());
        } catch (IllegalArgumentException e) {
            throw new FormatException(path, where + ": " + e.getMessage());
        }
        long[] shape = longArray(path, where, value, "shape", -1);
        for (long d : shape) {
            if (d < 0) {
                throw new FormatException(
                        path, where + ": expected non-negative dimensions, found shape " + Arrays.toString(shape));
            }
        }
        long[] offsets = longArray(path, where, value, "data_offsets", 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin < 0 || end < begin || end > dataLength) {
            throw new FormatException(
                    path,
                    where + ": data_offsets [" + begin + ", " + end + "] out of range: expected 0 <= begin <= end <= "
                            + dataLength + " (data size)");
        }
        long expected;
        try {
            expected = RawTensor.byteCount(dtype, shape);
        } catch (IllegalArgumentException e) {
            throw new FormatException(path, where + ": " + e.getMessage());
        }
        if (end - begin != expected) {
            throw new FormatException(
                    path,
                    where + ": " + dtype + Arrays.toString(shape) + " needs " + expected + " bytes, data_offsets ["
                            + begin + ", " + end + "] span " + (end - begin));
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long[] longArray(Path path, String where, JsonNode obj, String key, int length)
            throws FormatException {
        JsonNode node = obj.get(key);
        if (node == null || !node.isArray() || (length >= 0 && node.size() != length)) {
            throw new FormatException(
                    path,
                    where + ": expected \"" + key + "\" to be an array of " + (length >= 0 ? length + " " : "")
                            + "integers, found " + node);
        }
        long[] out = new long[node.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode n = node.get(i);
            if (!n.isIntegralNumber() || !n.canConvertToLong()) {
                throw new FormatException(path, where + ": expected \"" + key + "\" to hold integers, found " + n);
            }
            out[i] = n.longValue();
        }
        return out;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path path) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new FormatException(path, "unexpected end of file at byte " + pos);
            }
            pos += n;
        }
    }

    /**
     * Writes tensors without metadata; see {@link #write(Path, Map, Map)}.
     *
     * @param path the file to create or replace
     * @param tensors the tensors, written in iteration order
     * @throws IOException if the file cannot be written; an existing file is then left untouched
     */
    public static void write(Path path, Map<String, RawTensor> tensors) throws IOException {
        write(path, tensors, Map.of());
    }

    /**
     * Writes tensors and string metadata in the standard safetensors layout: header length, JSON
     * header padded with spaces so that the data starts at a multiple of 8, then the tensors'
     * bytes back to back in the map's iteration order. The file is replaced atomically (see
     * {@link AtomicFiles}).
     *
     * @param path the file to create or replace
     * @param tensors the tensors, written in iteration order
     * @param metadata string metadata stored as {@code __metadata__} (omitted when empty)
     * @throws IllegalArgumentException if a tensor is named {@code __metadata__}
     * @throws IOException if the file cannot be written; an existing file is then left untouched
     */
    public static void write(Path path, Map<String, RawTensor> tensors, Map<String, String> metadata)
            throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(metadata, "metadata");
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject(METADATA_KEY);
            metadata.forEach((k, v) ->
                    meta.put(Objects.requireNonNull(k, "metadata key"), Objects.requireNonNull(v, "metadata value")));
        }
        List<RawTensor> order = new ArrayList<>(tensors.size());
        long offset = 0;
        for (Map.Entry<String, RawTensor> e : tensors.entrySet()) {
            String name = Objects.requireNonNull(e.getKey(), "tensor name");
            RawTensor t = Objects.requireNonNull(e.getValue(), "tensor " + name);
            if (name.equals(METADATA_KEY)) {
                throw new IllegalArgumentException("a tensor cannot be named " + METADATA_KEY);
            }
            long bytes = t.bytes().size();
            ObjectNode entry = header.putObject(name);
            entry.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = entry.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
            order.add(t);
        }
        byte[] json;
        try {
            json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (JacksonException e) {
            throw new IOException("cannot write " + path + ": header serialization failed", e);
        }
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        AtomicFiles.writeChannel(path, ch -> {
            AtomicFiles.writeFully(ch, head);
            for (RawTensor t : order) {
                t.bytes().writeTo(ch);
            }
        });
    }
}
