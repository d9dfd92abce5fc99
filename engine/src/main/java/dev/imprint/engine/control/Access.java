package dev.imprint.engine.control;

import dev.imprint.engine.job.Refusal;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.List;

/**
 * Who may use a session's control channel: clients from the allowed networks (none listed: anyone
 * who can reach the port) that present the shared token (none set: no token needed).
 *
 * @param allowed the networks ({@code --allow CIDR}); empty allows every address
 * @param token the shared token clients must send, or null
 */
public record Access(List<Cidr> allowed, String token) {
  public Access {
    allowed = List.copyOf(allowed);
  }

  public static Access open() {
    return new Access(List.of(), null);
  }

  /** Why {@code client} with {@code authorization} (the header, or null) is refused, or null. */
  public String refusal(InetAddress client, String authorization) {
    if (!allowed.isEmpty() && allowed.stream().noneMatch(c -> c.contains(client))) {
      return "address " + client.getHostAddress() + " is not in this server's --allow list";
    }
    if (token != null) {
      String want = "Bearer " + token;
      if (authorization == null
          || !MessageDigest.isEqual(
              want.getBytes(StandardCharsets.UTF_8),
              authorization.trim().getBytes(StandardCharsets.UTF_8))) {
        return "this server needs its token: give --token TOKEN";
      }
    }
    return null;
  }

  /** A network: an address and a prefix length. */
  public record Cidr(byte[] network, int prefix, String text) {
    /**
     * @throws Refusal when {@code text} is not ADDRESS[/PREFIX]
     */
    public static Cidr parse(String text) throws Refusal {
      String[] parts = text.split("/", 2);
      byte[] a;
      try {
        if (!parts[0].matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) {
          throw new UnknownHostException(parts[0]);
        }
        a = InetAddress.getByName(parts[0]).getAddress();
      } catch (UnknownHostException e) {
        throw new Refusal("--allow " + text + " is not a network: write e.g. 10.1.0.0/16");
      }
      int prefix = a.length * 8;
      if (parts.length == 2) {
        try {
          prefix = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
          prefix = -1;
        }
        if (prefix < 0 || prefix > a.length * 8) {
          throw new Refusal(
              "--allow " + text + " has a bad prefix length: use 0 to " + a.length * 8);
        }
      }
      return new Cidr(a, prefix, text);
    }

    public boolean contains(InetAddress address) {
      byte[] b = address.getAddress();
      if (b.length != network.length) {
        return false;
      }
      for (int bit = 0; bit < prefix; bit++) {
        int mask = 0x80 >>> (bit % 8);
        if ((b[bit / 8] & mask) != (network[bit / 8] & mask)) {
          return false;
        }
      }
      return true;
    }
  }
}
