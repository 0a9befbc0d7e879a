package io.tarflow4j.distributed;

/**
 * A TCP endpoint written {@code host:port}, or {@code [ipv6]:port}.
 *
 * @param host host name or address (IPv6 without brackets)
 * @param port 1..65535
 */
public record HostPort(String host, int port) {
    /**
     * Parses {@code host:port} with a message naming {@code --master} when it is malformed.
     */
    public static HostPort parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("--master: expected HOST:PORT, got nothing");
        }
        String s = text.strip();
        String host;
        String port;
        if (s.startsWith("[")) {
            int close = s.indexOf("]:");
            if (close < 0) {
                throw new IllegalArgumentException("--master '" + text + "': expected [IPV6]:PORT");
            }
            host = s.substring(1, close);
            port = s.substring(close + 2);
        } else {
            int colon = s.lastIndexOf(':');
            if (colon < 0 || s.indexOf(':') != colon) {
                throw new IllegalArgumentException("--master '" + text + "': expected HOST:PORT (e.g. 10.0.0.1:29500)");
            }
            host = s.substring(0, colon);
            port = s.substring(colon + 1);
        }
        if (host.isEmpty()) {
            throw new IllegalArgumentException("--master '" + text + "': the host is empty");
        }
        int p;
        try {
            p = Integer.parseInt(port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--master '" + text + "': port '" + port + "' is not a number");
        }
        if (p < 1 || p > 65535) {
            throw new IllegalArgumentException("--master '" + text + "': port " + p + " is outside 1..65535");
        }
        return new HostPort(host, p);
    }

    @Override
    public String toString() {
        return host.contains(":") ? "[" + host + "]:" + port : host + ":" + port;
    }
}
