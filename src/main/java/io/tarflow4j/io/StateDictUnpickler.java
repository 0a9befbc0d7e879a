package io.tarflow4j.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A restricted pickle machine (protocol 2 opcodes) that understands exactly what
 * {@code torch.save(module.state_dict())} writes, and nothing else.
 *
 * <p>It never executes code: the only globals it accepts are a fixed allow-list, each mapped to a
 * Java behaviour ({@code OrderedDict()} builds a map, {@code _rebuild_tensor_v2} and
 * {@code _rebuild_parameter} build tensors through a {@link TensorRebuilder}, storage classes name
 * a dtype). Any other global, any other opcode and any ill-typed argument is a
 * {@link FormatException}. Work and memory are linear in the size of the pickle.
 */
final class StateDictUnpickler {

    /** A tuple on the pickle stack (distinct from a list). */
    record Tuple(List<Object> items) {}

    /** A persistent storage reference from {@code BINPERSID}. */
    record StorageRef(DType dtype, String key, String location, long numel) {}

    /** Builds a tensor from a storage and its view parameters. */
    @FunctionalInterface
    interface TensorRebuilder {
        /**
         * Builds a contiguous tensor.
         *
         * @param storage the storage the tensor views
         * @param offset storage offset in elements
         * @param size the tensor's shape
         * @param stride the strides in elements
         * @return the tensor
         * @throws FormatException if the storage cannot provide the view
         */
        RawTensor rebuild(StorageRef storage, long offset, long[] size, long[] stride) throws FormatException;
    }

    private enum Global {
        ORDERED_DICT,
        REBUILD_TENSOR_V2,
        REBUILD_PARAMETER
    }

    /** A storage class global such as {@code torch FloatStorage}. */
    private record StorageType(DType dtype) {}

    private static final Map<String, Object> ALLOWED = Map.ofEntries(
            Map.entry("collections OrderedDict", Global.ORDERED_DICT),
            Map.entry("torch._utils _rebuild_tensor_v2", Global.REBUILD_TENSOR_V2),
            Map.entry("torch._utils _rebuild_parameter", Global.REBUILD_PARAMETER),
            Map.entry("torch FloatStorage", new StorageType(DType.F32)),
            Map.entry("torch HalfStorage", new StorageType(DType.F16)),
            Map.entry("torch BFloat16Storage", new StorageType(DType.BF16)),
            Map.entry("torch DoubleStorage", new StorageType(DType.F64)),
            Map.entry("torch LongStorage", new StorageType(DType.I64)),
            Map.entry("torch IntStorage", new StorageType(DType.I32)),
            Map.entry("torch ByteStorage", new StorageType(DType.U8)),
            Map.entry("torch BoolStorage", new StorageType(DType.BOOL)));

    /** Marks the absence of a value in the memo (pickle's None is Java null). */
    private static final Object NONE = new Object();

    private final Path file;
    private final String what;
    private final byte[] code;
    private final TensorRebuilder rebuilder;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final HashMap<Long, Object> memo = new HashMap<>();
    private int pos;
    private int opStart;

    private StateDictUnpickler(Path file, String what, byte[] code, TensorRebuilder rebuilder) {
        this.file = file;
        this.what = what;
        this.code = code;
        this.rebuilder = rebuilder;
    }

    /**
     * Runs a pickle and returns its result.
     *
     * @param file the checkpoint, for error messages
     * @param what the name of the pickle inside the checkpoint, for error messages
     * @param code the pickle bytes
     * @param rebuilder builds tensors for {@code _rebuild_tensor_v2}
     * @return the unpickled object: a {@link Map} for a state dict
     * @throws FormatException if the pickle is malformed or uses anything outside the allow-list
     */
    static Object load(Path file, String what, byte[] code, TensorRebuilder rebuilder) throws FormatException {
        return new StateDictUnpickler(file, what, code, rebuilder).run();
    }

    private FormatException error(String problem) {
        return new FormatException(file, what + " at byte " + opStart + ": " + problem);
    }

    private Object run() throws FormatException {
        while (true) {
            opStart = pos;
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int version = u8();
                    if (version < 2 || version > 5) {
                        throw error("unsupported pickle protocol " + version + ", expected 2 to 5");
                    }
                }
                case 0x95 -> { // FRAME: a length prefix only; the content follows inline
                    long len = s64();
                    if (len < 0 || len > code.length - pos) {
                        throw error("frame length " + len + " exceeds the remaining " + (code.length - pos) + " bytes");
                    }
                }
                case 0x7d -> push(new LinkedHashMap<Object, Object>()); // EMPTY_DICT
                case 0x5d -> push(new ArrayList<Object>()); // EMPTY_LIST
                case 0x29 -> push(new Tuple(List.of())); // EMPTY_TUPLE
                case 0x28 -> marks.add(stack.size()); // MARK
                case 0x85 -> push(tupleOf(1)); // TUPLE1
                case 0x86 -> push(tupleOf(2)); // TUPLE2
                case 0x87 -> push(tupleOf(3)); // TUPLE3
                case 0x74 -> push(new Tuple(popMark())); // TUPLE
                case 0x58 -> push(string(u32())); // BINUNICODE
                case 0x8c -> push(string(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(string(s64())); // BINUNICODE8
                case 0x4a -> push((long) s32()); // BININT
                case 0x4b -> push((long) u8()); // BININT1
                case 0x4d -> push((long) u16()); // BININT2
                case 0x8a -> push(long1()); // LONG1
                case 0x47 ->
                    push(Double.longBitsToDouble(
                            bytes(8).order(ByteOrder.BIG_ENDIAN).getLong())); // BINFLOAT
                case 0x88 -> push(Boolean.TRUE); // NEWTRUE
                case 0x89 -> push(Boolean.FALSE); // NEWFALSE
                case 0x4e -> push(null); // NONE
                case 0x71 -> memoPut(u8()); // BINPUT
                case 0x72 -> memoPut(u32()); // LONG_BINPUT
                case 0x94 -> memoPut(memo.size()); // MEMOIZE
                case 0x68 -> push(memoGet(u8())); // BINGET
                case 0x6a -> push(memoGet(u32())); // LONG_BINGET
                case 0x73 -> { // SETITEM
                    Object value = pop();
                    Object key = pop();
                    putItem(peek(), key, value);
                }
                case 0x75 -> { // SETITEMS
                    List<Object> items = popMark();
                    if (items.size() % 2 != 0) {
                        throw error("SETITEMS with an odd number (" + items.size() + ") of keys and values");
                    }
                    Object target = peek();
                    for (int i = 0; i < items.size(); i += 2) {
                        putItem(target, items.get(i), items.get(i + 1));
                    }
                }
                case 0x61 -> { // APPEND
                    Object value = pop();
                    asList(peek()).add(value);
                }
                case 0x65 -> { // APPENDS
                    List<Object> items = popMark();
                    asList(peek()).addAll(items);
                }
                case 0x52 -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    push(reduce(callable, args));
                }
                case 0x62 -> build(pop(), peek()); // BUILD
                case 0x51 -> push(persistentLoad(pop())); // BINPERSID
                case 0x63 -> push(global(line(), line())); // GLOBAL
                case 0x2e -> { // STOP
                    if (stack.size() != 1) {
                        throw error("STOP with " + stack.size() + " objects on the stack, expected 1");
                    }
                    return stack.get(0);
                }
                default -> throw error(String.format("unsupported pickle opcode 0x%02x", op));
            }
        }
    }

    // ---- reading the byte code ----

    private void need(long n) throws FormatException {
        if (n < 0 || n > code.length - pos) {
            throw error("truncated pickle: expected " + n + " more bytes, found " + (code.length - pos));
        }
    }

    private int u8() throws FormatException {
        need(1);
        return code[pos++] & 0xFF;
    }

    private ByteBuffer bytes(int n) throws FormatException {
        need(n);
        ByteBuffer b = ByteBuffer.wrap(code, pos, n).slice().order(ByteOrder.LITTLE_ENDIAN);
        pos += n;
        return b;
    }

    private int u16() throws FormatException {
        return bytes(2).getShort() & 0xFFFF;
    }

    private int s32() throws FormatException {
        return bytes(4).getInt();
    }

    private long u32() throws FormatException {
        return bytes(4).getInt() & 0xFFFFFFFFL;
    }

    private long s64() throws FormatException {
        return bytes(8).getLong();
    }

    private long long1() throws FormatException {
        int n = u8();
        if (n > 8) {
            throw error("LONG1 integer of " + n + " bytes, expected at most 8");
        }
        ByteBuffer b = bytes(n);
        long v = 0;
        for (int i = n - 1; i >= 0; i--) {
            v = (v << 8) | (b.get(i) & 0xFF);
        }
        if (n > 0 && n < 8 && (b.get(n - 1) & 0x80) != 0) {
            v -= 1L << (8 * n); // two's complement sign
        }
        return v;
    }

    private String string(long n) throws FormatException {
        need(n);
        CharsetDecoder decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            CharBuffer chars = decoder.decode(ByteBuffer.wrap(code, pos, (int) n));
            pos += (int) n;
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw error("string is not valid UTF-8");
        }
    }

    private String line() throws FormatException {
        int start = pos;
        while (pos < code.length && code[pos] != '\n') {
            pos++;
        }
        if (pos >= code.length) {
            throw error("truncated pickle: GLOBAL name without a newline");
        }
        String s = new String(code, start, pos - start, StandardCharsets.UTF_8);
        pos++;
        return s;
    }

    // ---- stack and memo ----

    private void push(Object o) {
        stack.add(o);
    }

    private Object pop() throws FormatException {
        int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
        if (stack.size() <= floor) {
            throw error("stack underflow");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek() throws FormatException {
        int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
        if (stack.size() <= floor) {
            throw error("stack underflow");
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark() throws FormatException {
        if (marks.isEmpty()) {
            throw error("no MARK on the stack");
        }
        int mark = marks.remove(marks.size() - 1);
        List<Object> top = stack.subList(mark, stack.size());
        List<Object> items = Collections.unmodifiableList(new ArrayList<>(top));
        top.clear();
        return items;
    }

    private Tuple tupleOf(int n) throws FormatException {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) {
            items[i] = pop();
        }
        return new Tuple(Collections.unmodifiableList(java.util.Arrays.asList(items)));
    }

    private void memoPut(long index) throws FormatException {
        Object top = peek();
        memo.put(index, top == null ? NONE : top);
    }

    private Object memoGet(long index) throws FormatException {
        Object o = memo.get(index);
        if (o == null) {
            throw error("memo entry " + index + " is not defined");
        }
        return o == NONE ? null : o;
    }

    // ---- semantics ----

    @SuppressWarnings("unchecked")
    private void putItem(Object target, Object key, Object value) throws FormatException {
        if (!(target instanceof Map<?, ?> map)) {
            throw error("SETITEM on " + typeName(target) + ", expected a dict");
        }
        if (!(key == null
                || key instanceof String
                || key instanceof Long
                || key instanceof Boolean
                || key instanceof Double)) {
            throw error("dict key of type " + typeName(key) + ", expected a string or number");
        }
        ((Map<Object, Object>) map).put(key, value);
    }

    @SuppressWarnings("unchecked")
    private List<Object> asList(Object target) throws FormatException {
        if (target instanceof ArrayList<?> list) {
            return (List<Object>) list;
        }
        throw error("APPEND on " + typeName(target) + ", expected a list");
    }

    private Object global(String module, String name) throws FormatException {
        Object g = ALLOWED.get(module + " " + name);
        if (g == null) {
            throw error("global \"" + module + " " + name + "\" is not allowed in a state dict"
                    + " (only OrderedDict, torch._utils tensor rebuilders and torch storage types)");
        }
        return g;
    }

    private Object persistentLoad(Object pid) throws FormatException {
        if (!(pid instanceof Tuple(List<Object> t)) || t.size() != 5 || !"storage".equals(t.get(0))) {
            throw error("persistent id " + typeName(pid) + ", expected ('storage', type, key, location, numel)");
        }
        if (!(t.get(1) instanceof StorageType(DType dtype))) {
            throw error("persistent id storage type " + typeName(t.get(1)) + ", expected a torch storage class");
        }
        if (!(t.get(2) instanceof String key)
                || !(t.get(3) instanceof String location)
                || !(t.get(4) instanceof Long numel)
                || numel < 0) {
            throw error("persistent id: expected a string key, a string location and a non-negative numel");
        }
        return new StorageRef(dtype, key, location, numel);
    }

    private Object reduce(Object callable, Object args) throws FormatException {
        if (!(args instanceof Tuple(List<Object> a))) {
            throw error("REDUCE arguments of type " + typeName(args) + ", expected a tuple");
        }
        if (!(callable instanceof Global g)) {
            throw error("REDUCE on " + typeName(callable) + ", expected an allowed callable");
        }
        return switch (g) {
            case ORDERED_DICT -> {
                if (!a.isEmpty()) {
                    throw error("OrderedDict with arguments, expected OrderedDict()");
                }
                yield new LinkedHashMap<Object, Object>();
            }
            case REBUILD_TENSOR_V2 -> rebuildTensor(a);
            case REBUILD_PARAMETER -> {
                if (a.size() != 3 || !(a.get(0) instanceof RawTensor t) || !(a.get(1) instanceof Boolean)) {
                    throw error("_rebuild_parameter arguments, expected (tensor, requires_grad, hooks)");
                }
                yield t;
            }
        };
    }

    private RawTensor rebuildTensor(List<Object> a) throws FormatException {
        if (a.size() != 6 && a.size() != 7) {
            throw error("_rebuild_tensor_v2 with " + a.size() + " arguments, expected 6 or 7");
        }
        if (!(a.get(0) instanceof StorageRef storage)) {
            throw error("_rebuild_tensor_v2 storage of type " + typeName(a.get(0)) + ", expected a persistent storage");
        }
        if (!(a.get(1) instanceof Long offset) || offset < 0) {
            throw error("_rebuild_tensor_v2 storage offset, expected a non-negative integer");
        }
        long[] size = longs(a.get(2), "size");
        long[] stride = longs(a.get(3), "stride");
        if (size.length != stride.length) {
            throw error("_rebuild_tensor_v2 size has " + size.length + " dimensions, stride " + stride.length);
        }
        if (!(a.get(4) instanceof Boolean)) {
            throw error("_rebuild_tensor_v2 requires_grad of type " + typeName(a.get(4)) + ", expected a bool");
        }
        if (!(a.get(5) instanceof Map<?, ?>)) {
            throw error("_rebuild_tensor_v2 backward hooks of type " + typeName(a.get(5)) + ", expected a dict");
        }
        return rebuilder.rebuild(storage, offset, size, stride);
    }

    private long[] longs(Object o, String name) throws FormatException {
        if (!(o instanceof Tuple(List<Object> items))) {
            throw error("_rebuild_tensor_v2 " + name + " of type " + typeName(o) + ", expected a tuple of integers");
        }
        long[] out = new long[items.size()];
        for (int i = 0; i < out.length; i++) {
            if (!(items.get(i) instanceof Long v) || v < 0) {
                throw error("_rebuild_tensor_v2 " + name + ": expected non-negative integers");
            }
            out[i] = v;
        }
        return out;
    }

    private void build(Object state, Object target) throws FormatException {
        // OrderedDict.__reduce__ passes the instance dict ({'_metadata': ...}) as state; ignored.
        if (target instanceof Map<?, ?> && (state instanceof Map<?, ?> || state == null)) {
            return;
        }
        throw error("BUILD on " + typeName(target) + " with " + typeName(state)
                + ", expected a dict receiving its attribute dict");
    }

    static String typeName(Object o) {
        if (o == null) {
            return "None";
        }
        if (o instanceof Tuple) {
            return "tuple";
        }
        if (o instanceof Map<?, ?>) {
            return "dict";
        }
        if (o instanceof List<?>) {
            return "list";
        }
        if (o instanceof StorageRef) {
            return "storage";
        }
        if (o instanceof StorageType) {
            return "storage class";
        }
        if (o instanceof Global g) {
            return "global " + g;
        }
        if (o instanceof RawTensor) {
            return "tensor";
        }
        if (o instanceof String) {
            return "str";
        }
        if (o instanceof Long) {
            return "int";
        }
        if (o instanceof Double) {
            return "float";
        }
        if (o instanceof Boolean) {
            return "bool";
        }
        return o.getClass().getSimpleName();
    }
}
