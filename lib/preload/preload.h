// What the preload library's call files share: the descriptor table, the C library's calls, and
// the rules for turning a socket() into a synwave socket.
#pragma once

#include <cerrno>

#include "client/synwave_client.h"
#include "preload/fd_table.h"
#include "preload/libc.h"

namespace synwave::preload {

inline FdTable& table() { return FdTable::get(); }

// The handle behind fd, or -1 (a kernel descriptor, or not open).
inline int handle_of(int fd) { return table().socket(fd); }

// socket() for AF_INET TCP when synwave cannot take it: the daemon is not there (a message on
// stderr naming the prefix, once), or SYNWAVE_FALLBACK=kernel says to use the kernel then.
// Returns true when the caller should create a kernel socket instead; false: fail with errno.
bool fall_back_to_kernel(int attach_errno);

// A synwave socket that turns out to be the kernel's (a loopback connect, a bind to an address
// the daemon does not own) before it was opened: a kernel TCP socket with the same options,
// non-blocking flag and close-on-exec flag takes its descriptor number. 0 or -1 with errno.
int hand_over_to_kernel(int fd, int handle);

// Records an option set on a synwave socket before it opened, for hand_over_to_kernel.
void record_option(int handle, int level, int name, const void* value, socklen_t len);

// Waits until the synwave socket is ready for `events` (POLLIN / POLLOUT) or timeout_ms passed:
// 1 ready, 0 timed out, -1 with errno (EINTR).
int wait_ready(int fd, short events, int timeout_ms);

// epoll_wait and poll with SYNWAVE_BUSY_POLL_US: how long to spin before sleeping.
unsigned busy_poll_us();

}  // namespace synwave::preload
