package dev.kiln.nn.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The small JSON subset that safetensors headers and checkpoint metadata need: objects (kept in order), arrays,
 * strings, numbers (as Double, or Long when integral and written without fraction or exponent), booleans and
 * null. Parse errors name the offset.
 */
public final class Json {
    /** Deeper nesting is refused: the parser recurses, and a hostile file must not overflow the stack. */
    static final int MAX_DEPTH = 512;

    private final String text;
    private int pos;
    private int depth;

    private Json(String text) { this.text = text; }

    /**
     * Parses one JSON value.
     *
     * @param text the JSON text
     * @return a {@code Map} (insertion-ordered), {@code List}, {@code String}, {@code Long} or {@code Double}, {@code Boolean} or null
     * @throws IllegalArgumentException where the text is not JSON, naming the position
     */
    public static Object parse(String text) {
        Json p = new Json(text);
        p.skipSpace();
        Object v = p.value();
        p.skipSpace();
        if (p.pos != text.length()) throw p.error("trailing characters");
        return v;
    }

    /**
     * Parses text that must be a JSON object.
     *
     * @param text the JSON text
     * @return the object's members in the order they appear
     * @throws IllegalArgumentException if the text is not JSON or not an object
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object v = parse(text);
        if (!(v instanceof Map)) throw new IllegalArgumentException("JSON: expected an object, got " + (v == null ? "null" : v.getClass().getSimpleName()));
        return (Map<String, Object>) v;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException("JSON: " + what + " at offset " + pos + " of " + text.length());
    }

    private void skipSpace() {
        while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) pos++;
    }

    private char peek() {
        if (pos >= text.length()) throw error("unexpected end");
        return text.charAt(pos);
    }

    private void expect(char c) {
        if (peek() != c) throw error("expected '" + c + "' but found '" + peek() + "'");
        pos++;
    }

    private Object value() {
        char c = peek();
        switch (c) {
            case '{', '[': {
                if (++depth > MAX_DEPTH) throw error("nested deeper than " + MAX_DEPTH + " levels");
                Object nested = c == '{' ? object() : array();
                depth--;
                return nested;
            }
            case '"': return string();
            case 't': return literal("true", Boolean.TRUE);
            case 'f': return literal("false", Boolean.FALSE);
            case 'n': return literal("null", null);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) return number();
                throw error("unexpected character '" + c + "'");
        }
    }

    private Object literal(String word, Object v) {
        if (!text.startsWith(word, pos)) throw error("expected " + word);
        pos += word.length();
        return v;
    }

    private Map<String, Object> object() {
        expect('{');
        Map<String, Object> out = new LinkedHashMap<>();
        skipSpace();
        if (peek() == '}') {
            pos++;
            return out;
        }
        while (true) {
            skipSpace();
            String key = string();
            skipSpace();
            expect(':');
            skipSpace();
            if (out.containsKey(key)) throw error("duplicate key '" + key + "'");
            out.put(key, value());
            skipSpace();
            if (peek() == ',') {
                pos++;
                continue;
            }
            expect('}');
            return out;
        }
    }

    private List<Object> array() {
        expect('[');
        List<Object> out = new ArrayList<>();
        skipSpace();
        if (peek() == ']') {
            pos++;
            return out;
        }
        while (true) {
            skipSpace();
            out.add(value());
            skipSpace();
            if (peek() == ',') {
                pos++;
                continue;
            }
            expect(']');
            return out;
        }
    }

    private String string() {
        expect('"');
        StringBuilder sb = new StringBuilder();
        while (true) {
            char c = peek();
            pos++;
            if (c == '"') return sb.toString();
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char e = peek();
            pos++;
            switch (e) {
                case '"', '\\', '/' -> sb.append(e);
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    if (pos + 4 > text.length()) throw error("short \\u escape");
                    try {
                        sb.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
                    } catch (NumberFormatException ex) {
                        throw error("bad \\u escape");
                    }
                    pos += 4;
                }
                default -> throw error("bad escape '\\" + e + "'");
            }
        }
    }

    private Object number() {
        int start = pos;
        boolean integral = true;
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == '.' || c == 'e' || c == 'E') integral = false;
            else if (!(c == '-' || c == '+' || (c >= '0' && c <= '9'))) break;
            pos++;
        }
        String s = text.substring(start, pos);
        try {
            return integral ? (Object) Long.parseLong(s) : (Object) Double.parseDouble(s);
        } catch (NumberFormatException e) {
            pos = start;
            throw error("bad number '" + s + "'");
        }
    }

    // ---- writing ----------------------------------------------------------------------------------------

    /**
     * Compact JSON for maps, lists, strings, numbers, booleans and null. Doubles keep every bit (Java's repr).
     *
     * @param v the value: nested maps and lists of the types listed
     * @return the JSON text
     */
    public static String write(Object v) {
        StringBuilder sb = new StringBuilder();
        write(v, sb);
        return sb.toString();
    }

    private static void write(Object v, StringBuilder sb) {
        if (v == null) sb.append("null");
        else if (v instanceof String s) writeString(s, sb);
        else if (v instanceof Boolean || v instanceof Integer || v instanceof Long) sb.append(v);
        else if (v instanceof Number n) {
            double d = n.doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) writeString(Double.toString(d), sb);
            else sb.append(d);
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!first) sb.append(',');
                first = false;
                writeString(String.valueOf(e.getKey()), sb);
                sb.append(':');
                write(e.getValue(), sb);
            }
            sb.append('}');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) sb.append(',');
                write(l.get(i), sb);
            }
            sb.append(']');
        } else throw new IllegalArgumentException("JSON: cannot write a " + v.getClass().getName());
    }

    private static void writeString(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }

    /**
     * A number read back from JSON as a double; non-finite values were written as strings.
     *
     * @param v a value {@link #parse} returned
     * @return its value as a double
     * @throws IllegalArgumentException if it is not a number
     */
    public static double asDouble(Object v) {
        if (v instanceof Number n) return n.doubleValue();
        if (v instanceof String s) return Double.parseDouble(s);
        throw new IllegalArgumentException("JSON: expected a number, got " + v);
    }

    /**
     * A number read back from JSON as a long.
     *
     * @param v a value {@link #parse} returned
     * @return its value as a long
     * @throws IllegalArgumentException if it is not a number
     */
    public static long asLong(Object v) {
        if (v instanceof Number n) return n.longValue();
        throw new IllegalArgumentException("JSON: expected an integer, got " + v);
    }
}
