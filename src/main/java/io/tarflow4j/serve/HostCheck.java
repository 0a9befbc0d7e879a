package io.tarflow4j.serve;

import io.tarflow4j.io.Excerpt;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;

/**
 * Which {@code Host} and {@code Origin} headers the server answers, against DNS rebinding and
 * cross-site requests. Host must name this server exactly: a loopback name or address
 * ({@code localhost}, {@code 127.0.0.1}, {@code [::1]}), the {@code --host} it was started with
 * (for a wildcard address: this machine's own addresses and name), or an {@code --allow-host}
 * name. Origin, when sent, must equal {@code http://HOST:PORT} for one of those names or an
 * {@code --allow-origin}; {@code Origin: null} (sandboxed frames, local files) is refused.
 */
final class HostCheck {
    private static final Set<String> LOOPBACK = Set.of("localhost", "127.0.0.1", "[::1]");

    private final Set<String> hosts;
    private final Set<String> origins;

    private HostCheck(Set<String> hosts, Set<String> origins) {
        this.hosts = Collections.unmodifiableSet(hosts);
        this.origins = Collections.unmodifiableSet(origins);
    }

    /** The check for a server started with {@code options}, bound to {@code bound} on {@code port}. */
    static HostCheck of(ServerOptions options, InetAddress bound, int port) {
        Set<String> hosts = new LinkedHashSet<>(LOOPBACK);
        hosts.add(normalize(options.host()));
        if (bound.isAnyLocalAddress()) {
            hosts.addAll(ownNames());
        }
        options.allowedHosts().forEach(h -> hosts.add(normalize(h)));
        Set<String> origins = new LinkedHashSet<>();
        for (String h : hosts) {
            origins.add("http://" + h + ":" + port);
            if (port == 80) {
                origins.add("http://" + h);
            }
        }
        options.allowedOrigins().forEach(o -> origins.add(o.toLowerCase(Locale.ROOT)));
        return new HostCheck(hosts, origins);
    }

    /**
     * Refuses a request whose headers do not name this server.
     *
     * @param host the Host header, or null
     * @param origin the Origin header, or null
     * @throws HttpError 403 naming (a prefix of) the refused header
     */
    void check(String host, String origin) {
        String name = host == null ? null : hostName(host.strip());
        if (name == null || !hosts.contains(name)) {
            throw new HttpError(
                    403,
                    "this server answers requests for " + String.join(", ", hosts) + " (--allow-host adds names); Host "
                            + (host == null ? "missing" : Excerpt.of(host)) + " refused");
        }
        if (origin != null && !origins.contains(origin.strip().toLowerCase(Locale.ROOT))) {
            throw new HttpError(
                    403,
                    "cross-origin request from " + Excerpt.of(origin) + " refused"
                            + (origin.strip().equals("null")
                                    ? " (an opaque origin: a sandboxed frame or a local file)"
                                    : "")
                            + "; --allow-origin allows another site's pages");
        }
    }

    /** The names accepted in Host. */
    Set<String> hosts() {
        return hosts;
    }

    /** The host part of a Host header, lower case, IPv6 in brackets; null when malformed. */
    static String hostName(String header) {
        String name;
        if (header.startsWith("[")) {
            int end = header.indexOf(']');
            if (end < 0 || (end + 1 < header.length() && !port(header.substring(end + 1)))) {
                return null;
            }
            name = header.substring(0, end + 1);
        } else {
            int colon = header.indexOf(':');
            if (colon >= 0 && (header.indexOf(':', colon + 1) >= 0 || !port(header.substring(colon)))) {
                return null;
            }
            name = colon < 0 ? header : header.substring(0, colon);
        }
        return name.isEmpty() ? null : name.toLowerCase(Locale.ROOT);
    }

    private static boolean port(String colonPort) {
        return colonPort.matches(":[0-9]{1,5}");
    }

    /** A --host or --allow-host value as it appears in Host: lower case, IPv6 literals in brackets. */
    private static String normalize(String name) {
        String n = name.strip().toLowerCase(Locale.ROOT);
        return n.contains(":") && !n.startsWith("[") ? "[" + n + "]" : n;
    }

    /** This machine's addresses and name, for a server bound to all of them. */
    private static Set<String> ownNames() {
        Set<String> names = new LinkedHashSet<>();
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    String literal = a.getHostAddress();
                    int zone = literal.indexOf('%');
                    literal = zone < 0 ? literal : literal.substring(0, zone);
                    names.add(a instanceof Inet6Address ? normalize(literal) : literal);
                }
            }
        } catch (SocketException e) {
            // no interface list: the loopback names and --allow-host remain
        }
        try {
            names.add(normalize(InetAddress.getLocalHost().getHostName()));
        } catch (UnknownHostException e) {
            // an unnamed machine: its addresses remain
        }
        return names;
    }
}
