package io.tarflow4j.io;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Builds pickle byte code (as torch.save writes it) and checkpoint zips for tests. */
final class PickleBytes {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    PickleBytes op(int opcode) {
        out.write(opcode);
        return this;
    }

    PickleBytes raw(byte... bytes) {
        out.writeBytes(bytes);
        return this;
    }

    PickleBytes proto() {
        return op(0x80).op(2);
    }

    PickleBytes global(String module, String name) {
        return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    }

    PickleBytes str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X');
        le(b.length, 4);
        return raw(b);
    }

    PickleBytes integer(long v) {
        if (v >= 0 && v < 256) {
            return op('K').op((int) v);
        }
        if (v >= 0 && v < 65536) {
            op('M');
            return le(v, 2);
        }
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            op('J');
            return le(v, 4);
        }
        op(0x8a).op(8);
        return le(v, 8);
    }

    PickleBytes tuple(long... values) {
        op('(');
        for (long v : values) {
            integer(v);
        }
        return op('t');
    }

    PickleBytes le(long v, int n) {
        for (int i = 0; i < n; i++) {
            out.write((int) (v >>> (8 * i)) & 0xFF);
        }
        return this;
    }

    PickleBytes mark() {
        return op('(');
    }

    PickleBytes stop() {
        return op('.');
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    /** A tensor entry of a state dict as torch pickles it. */
    record TensorSpec(
            String name, String storageClass, String key, long storageNumel, long offset, long[] size, long[] stride) {}

    /** The pickle of {@code OrderedDict} of the given tensors, with an ignored {@code _metadata}. */
    static byte[] stateDict(TensorSpec... tensors) {
        PickleBytes p = new PickleBytes()
                .proto()
                .global("collections", "OrderedDict")
                .op(0x71)
                .op(0)
                .op(')')
                .op('R')
                .op(0x71)
                .op(1)
                .mark();
        for (TensorSpec t : tensors) {
            p.str(t.name())
                    .global("torch._utils", "_rebuild_tensor_v2")
                    .mark()
                    .mark()
                    .str("storage")
                    .global("torch", t.storageClass())
                    .str(t.key())
                    .str("cpu")
                    .integer(t.storageNumel())
                    .op('t')
                    .op('Q')
                    .integer(t.offset())
                    .tuple(t.size())
                    .tuple(t.stride())
                    .op(0x89)
                    .op('h')
                    .op(0)
                    .op(')')
                    .op('R')
                    .op('t')
                    .op('R');
        }
        p.op('u');
        // _metadata as OrderedDict.__reduce__ leaves it: BUILD with {'_metadata': {...}}
        p.op('}')
                .str("_metadata")
                .op('}')
                .str("")
                .op('}')
                .str("version")
                .integer(1)
                .op('s')
                .op('s')
                .op('s')
                .op('b');
        return p.stop().bytes();
    }

    /** Writes a checkpoint zip: {@code archive/data.pkl}, {@code archive/version} and the storages. */
    static void writeZip(Path file, byte[] pickle, Map<String, byte[]> storages) throws IOException {
        try (OutputStream os = Files.newOutputStream(file);
                ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.setMethod(ZipOutputStream.STORED);
            put(zip, "archive/data.pkl", pickle);
            put(zip, "archive/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
            for (Map.Entry<String, byte[]> s : storages.entrySet()) {
                put(zip, "archive/data/" + s.getKey(), s.getValue());
            }
            put(zip, "archive/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    /** Adds a stored entry (size and CRC-32 given up front, as stored entries need). */
    static void put(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry e = new ZipEntry(name);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(data);
        e.setSize(data.length);
        e.setCompressedSize(data.length);
        e.setCrc(crc.getValue());
        zip.putNextEntry(e);
        zip.write(data);
        zip.closeEntry();
    }
}
