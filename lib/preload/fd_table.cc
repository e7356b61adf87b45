// The descriptor table (fd_table.h).
#include "preload/fd_table.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>

#include "preload/libc.h"

namespace synwave::preload {
namespace {

template <typename T>
T* map_zeroed(std::size_t count) {
  // Untouched pages cost nothing: a table for a million descriptors costs what is used.
  void* p = mmap(nullptr, count * sizeof(T), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    std::fprintf(stderr, "synwave-preload: cannot map the descriptor table\n");
    std::abort();
  }
  return static_cast<T*>(p);  // zero bytes are valid (all atomics and counts 0)
}

}  // namespace

FdTable& FdTable::get() {
  static FdTable* table = new FdTable();  // never destroyed: used until the last exit handler
  return *table;
}

FdTable::FdTable()
    : entries_(map_zeroed<std::atomic<std::uint32_t>>(kMaxFds)), handles_(map_zeroed<HandleState>(kMaxHandles)) {}

int FdTable::placeholder_fd() {
  int fd = placeholder_.load(std::memory_order_acquire);
  if (fd >= 0) return fd;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  fd = placeholder_.load(std::memory_order_relaxed);
  if (fd >= 0) return fd;
  fd = libc().socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  placeholder_.store(fd, std::memory_order_release);
  return fd;
}

void FdTable::set_cloexec(int fd, bool on) {
  std::uint32_t e = entries_[fd].load(std::memory_order_relaxed);
  entries_[fd].store(on ? e | kCloexecBit : e & ~kCloexecBit, std::memory_order_release);
}

int FdTable::reserve(int handle, bool cloexec, int min_fd) {
  if (handle < 0 || handle >= kMaxHandles) {
    errno = EMFILE;
    return -1;
  }
  const int proto = placeholder_fd();
  if (proto < 0) return -1;
  // Close-on-exec always: a synwave socket does not survive exec (docs/preload.md).
  const int fd = libc().fcntl(proto, F_DUPFD_CLOEXEC, min_fd);
  if (fd < 0) return -1;
  if (fd >= kMaxFds) {
    libc().close(fd);
    errno = EMFILE;
    return -1;
  }
  handles_[handle].refs.fetch_add(1, std::memory_order_relaxed);
  entries_[fd].store((kSocket << kTypeShift) | (cloexec ? kCloexecBit : 0) | static_cast<std::uint32_t>(handle),
                     std::memory_order_release);
  return fd;
}

int FdTable::duplicate(int fd, int min_fd, int at, bool cloexec, int* last_of) {
  *last_of = -1;
  const int h = socket(fd);
  if (h < 0) {
    errno = EBADF;
    return -1;
  }
  int copy;
  if (at >= 0) {
    if (at >= kMaxFds) {
      errno = EBADF;
      return -1;
    }
    // `at` may be a synwave socket itself: dup2 closes it first (its last reference closes it).
    const int replaced = socket(at);
    copy = libc().dup3(fd, at, O_CLOEXEC);
    if (copy < 0) return -1;
    if (replaced >= 0) *last_of = drop(at);
  } else {
    copy = libc().fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
    if (copy < 0) return -1;
    if (copy >= kMaxFds) {
      libc().close(copy);
      errno = EMFILE;
      return -1;
    }
  }
  handles_[h].refs.fetch_add(1, std::memory_order_relaxed);
  entries_[copy].store((kSocket << kTypeShift) | (cloexec ? kCloexecBit : 0) | static_cast<std::uint32_t>(h),
                       std::memory_order_release);
  return copy;
}

int FdTable::forget(int fd) { return drop(fd); }

int FdTable::drop(int fd) {
  const int h = socket(fd);
  entries_[fd].store(0, std::memory_order_release);
  if (h < 0) return -1;
  if (handles_[h].refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return -1;
  HandleState& st = handles_[h];
  st.recv_timeout_ms = st.send_timeout_ms = 0;
  st.option_count = 0;
  return h;
}

}  // namespace synwave::preload
