package dev.imprint.engine.socket;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * The socket system calls for what Java's socket API does not reach: netlink (the kernel's uevents)
 * and socket options such as UDP segmentation offload. Errors come as {@link LastErrorException}
 * with errno.
 */
public interface LibcSockets extends Library {
  LibcSockets INSTANCE = Native.load("libc.so.6", LibcSockets.class);

  int SOCK_DGRAM = 2;
  int SOCK_CLOEXEC = 02000000;
  int SOL_SOCKET = 1;
  int EINTR = 4;
  int EAGAIN = 11;
  int ENOBUFS = 105;

  int socket(int domain, int type, int protocol) throws LastErrorException;

  int bind(int fd, Pointer addr, int len) throws LastErrorException;

  int connect(int fd, Pointer addr, int len) throws LastErrorException;

  int setsockopt(int fd, int level, int name, Pointer value, int len) throws LastErrorException;

  long send(int fd, Pointer buf, long len, int flags) throws LastErrorException;

  long recv(int fd, Pointer buf, long len, int flags) throws LastErrorException;

  int close(int fd) throws LastErrorException;
}
