// Which descriptor numbers belong to synwave, and what the preload library keeps per socket.
//
// A synwave socket's number is a real kernel descriptor: a duplicate of one unbound, unconnected
// kernel TCP socket (the "placeholder"), always close-on-exec. The kernel thus never hands the
// number out twice, fstat() says it is a socket, and whatever reaches the kernel through it (a
// call the library does not stand in front of) fails as on an unconnected socket instead of
// touching someone else's object. The table maps the number to the client library's handle;
// dup() gives another number for the same handle (a reference each, as file descriptions).
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <cstdint>

namespace synwave::preload {

inline constexpr int kMaxFds = 1 << 20;       // descriptor numbers the table covers
inline constexpr int kMaxHandles = 1 << 16;   // client library socket handles

// A socket option set before the socket was opened, replayed on the kernel socket that takes
// its place when it turns out to be the kernel's (a loopback connect, a bind to an address
// the daemon does not own).
struct RecordedOption {
  int level = 0, name = 0;
  socklen_t len = 0;
  unsigned char value[16] = {};
};

struct HandleState {
  std::atomic<std::uint32_t> refs{0};  // descriptor numbers that name this handle
  int recv_timeout_ms = 0;             // SO_RCVTIMEO, 0: none
  int send_timeout_ms = 0;             // SO_SNDTIMEO
  unsigned option_count = 0;
  RecordedOption options[8];
};

class FdTable {
 public:
  static FdTable& get();

  // The client handle behind `fd`, or -1 when the number is not a synwave socket.
  int socket(int fd) const {
    if (fd < 0 || fd >= kMaxFds) return -1;
    const std::uint32_t e = entries_[fd].load(std::memory_order_acquire);
    return (e >> kTypeShift) == kSocket ? static_cast<int>(e & kValueMask) : -1;
  }
  // The synwave epoll instance paired with the kernel epoll `fd`, or -1.
  int epoll(int fd) const {
    if (fd < 0 || fd >= kMaxFds) return -1;
    const std::uint32_t e = entries_[fd].load(std::memory_order_acquire);
    return (e >> kTypeShift) == kEpoll ? static_cast<int>(e & kValueMask) : -1;
  }
  bool placeholder(int fd) const { return fd >= 0 && fd == placeholder_; }
  bool cloexec(int fd) const { return (entries_[fd].load(std::memory_order_relaxed) & kCloexecBit) != 0; }
  void set_cloexec(int fd, bool on);

  // A new descriptor number for `handle` (its first reference); -1 with errno on failure.
  int reserve(int handle, bool cloexec, int min_fd = 0);
  // Another number for the handle behind `fd` (dup, F_DUPFD): at least min_fd, or exactly `at`
  // (dup2/dup3) when at >= 0. -1 with errno. When `at` was a synwave socket's last number,
  // *last_of is its handle (the caller closes that socket), else -1.
  int duplicate(int fd, int min_fd, int at, bool cloexec, int* last_of);
  // Forgets `fd` (already closed or replaced in the kernel by the caller). Returns the handle
  // when that was its last number (the caller closes the synwave socket), else -1.
  int forget(int fd);
  // The number now stands for a kernel object: forget it without closing anything.
  void clear(int fd) { entries_[fd].store(0, std::memory_order_release); }

  void set_epoll(int fd, int instance) {
    entries_[fd].store((kEpoll << kTypeShift) | static_cast<std::uint32_t>(instance), std::memory_order_release);
  }

  HandleState& handle(int h) { return handles_[h]; }

 private:
  static constexpr std::uint32_t kTypeShift = 30;
  static constexpr std::uint32_t kSocket = 1, kEpoll = 2;
  static constexpr std::uint32_t kCloexecBit = 1u << 29;
  static constexpr std::uint32_t kValueMask = (1u << 29) - 1;

  FdTable();
  int placeholder_fd();
  int drop(int fd);

  std::atomic<std::uint32_t>* entries_;  // by descriptor number (mapped, touched on demand)
  HandleState* handles_;                 // by client handle
  std::atomic<int> placeholder_{-1};
};

}  // namespace synwave::preload
