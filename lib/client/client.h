// The client library's insides: the attachment to the daemon, request channels, the wait for the
// daemon's wake-ups, socket slots and epoll instances. Private to lib/client.
//
// Locks here are the application's own (std::mutex between its threads); nothing is ever locked
// across the process boundary. Order, when several are held: channel, then socket (rx before tx),
// then events, then epoll.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "shim/shim_abi.h"
#include "shim/shim_rings.h"

namespace synwave::client {

using RequestRing = shim::MessageRing<shim::Request, shim::kRingEntries>;
using CompletionRing = shim::MessageRing<shim::Completion, shim::kRingEntries>;
using EventQueue = shim::MessageRing<shim::Event, shim::kEventEntries>;

// kInherited: a forked child's copy of a handle it cannot use (a connection, an unopened socket,
// a listener it could not share): reserved under its number until closed; every other call EBADF.
enum class Kind : std::uint8_t { kFree, kCreated, kListener, kConnection, kClosing, kInherited };

struct Socket {
  std::mutex rx_mutex;  // readers (and accept on a listener)
  std::mutex tx_mutex;  // writers
  // Read without the socket's mutexes by every call (and by sw_close from another thread).
  std::atomic<Kind> kind{Kind::kFree};
  // Set by sw_close: a call blocked on this socket in another thread returns EBADF when it wakes.
  std::atomic<bool> closed{false};
  // A listener: SocketShared::accepting is set (the engines hand this process connections).
  std::atomic<bool> accepting{false};
  bool nonblocking = false;
  bool cloexec = false;
  bool bound = false;
  bool reuseport = false;       // SO_REUSEPORT: listen() joins this process's listener on the same address
  bool accepted = false;        // from accept(): established before the engine says so
  bool connect_started = false;
  bool error_consumed = false;  // SO_ERROR / a read or write reported the engine's error
  bool shut_read = false, shut_write = false;
  std::uint32_t engine = 0;     // the engine that owns the connection
  std::uint32_t bind_addr = 0;  // network order
  std::uint16_t bind_port = 0;
  std::uint32_t local_addr = 0, remote_addr = 0;
  std::uint16_t local_port = 0, remote_port = 0;
  std::uint32_t rx_tail = 0;    // our copies of the indices we produce
  std::uint32_t tx_head = 0;
  std::uint32_t accept_tail[shim::kMaxEngines] = {};
  std::uint32_t accept_next_engine = 0;
  std::uint32_t releases_owed = 0;  // kReleased events to wait for before the slot is free
  bool keep_reserved = false;       // once released it becomes kInherited, not free
  std::vector<int> epolls;          // epoll instances watching it
};

struct Interest {
  int socket = -1;
  std::uint32_t events = 0;
  epoll_data_t data{};
  bool in_ready = false;
  bool disabled = false;  // EPOLLONESHOT fired
};

struct Epoll {
  std::mutex mutex;
  int event_fd = -1;   // readable while ready may be non-empty (see sw_epoll_fd)
  int kernel_fd = -1;  // an epoll of event_fd and the attachment's eventfd, handed out
  std::vector<Interest> interest;  // by socket slot; socket == -1 where not watched
  std::vector<int> ready;          // sockets to look at
  bool signalled = false;
  Interest* find(int s) {
    return s >= 0 && static_cast<std::size_t>(s) < interest.size() && interest[s].socket == s ? &interest[s] : nullptr;
  }
};

class Client {
 public:
  static Client& get();

  int attach(const char* prefix);  // 0 or -errno
  bool attached() const { return attached_.load(std::memory_order_acquire); }
  int ensure_attached();           // attaches from $SYNWAVE_PREFIX on first use
  // A forked child that inherited listeners attaches now (they are usable only once shared).
  void attach_if_inherited();
  // Handle `s` is a forked child's inherited handle (before or after it attached) that sw_close
  // forgets without touching its parent's. Returns false for any other handle.
  bool close_inherited(int s);
  const std::string& last_error() const { return last_error_; }
  void detach();

  // The daemon is gone (stopped, or cut us off): every call fails.
  bool daemon_down() const;
  const shim::RegionView& region() const { return region_; }
  std::uint32_t engines() const { return region_.g.engines; }
  std::uint32_t app_id() const { return app_id_; }

  // --- sockets ---
  int allocate_socket();           // a slot or -EMFILE
  Socket* socket(int s);           // nullptr for a handle that is not ours/open
  void free_socket(int s);
  Socket& at(int s) { return sockets_[static_cast<std::size_t>(s)]; }

  // --- requests ---
  // Sends a request to `engine` and, when `wait`, returns its completion's result (-errno), with
  // `values` filled. Fire-and-forget requests return 0.
  std::int64_t call(std::uint32_t engine, const shim::Request& request, bool wait, std::int64_t* values = nullptr);
  // Sends the same request to every engine and waits for each answer; the first error wins.
  std::int64_t call_all(const shim::Request& request, std::int64_t* per_engine = nullptr);

  // --- waiting ---
  // Drains the event rings: released slots come back, epoll instances learn of changes. True when
  // it found anything.
  bool pump();
  // Sleeps until the daemon signals something (or timeout_ms; -1 forever), after spinning
  // SYNWAVE_BUSY_POLL_US. Returns -EINTR when a signal interrupted it, else 0. The caller
  // re-checks what it waits for.
  int wait(int timeout_ms);
  // Socket `s` changed: epoll instances watching it take note.
  void notify(int s);
  void ring_doorbell(int s, Socket& sock);  // bytes are in the send ring
  // Listener `s` accepts from now on (first accept, epoll interest, poll): the engines hand it
  // connections, starting with those waiting. Once per listener; takes a channel's mutex.
  void start_accepting(int s, Socket& sock);

  // --- epoll ---
  int epoll_create();
  Epoll* epoll(int ep);
  void epoll_close(int ep);
  void watch(int ep, int s);
  void unwatch(int ep, int s);
  // Asks the daemon to write the eventfd on every publication (a descriptor was handed out).
  void always_wake();
  int event_fd() const { return event_fd_; }
  void release_channel(int c);  // a thread that had one ends

 private:
  Client() = default;
  // What a forked child inherited from the process it was forked from, until it attaches.
  struct InheritedListener {
    int slot = -1;
    std::uint32_t local_addr = 0;  // network order
    std::uint16_t local_port = 0;
    bool nonblocking = false, cloexec = false;
  };
  struct Inheritance {
    // The attached application that holds the listeners (the parent, or an ancestor that the
    // parent had not attached after), and the token of its region.
    std::uint32_t parent_app = 0;
    std::uint64_t parent_token = 0;
    std::uint32_t sockets = 0;    // its slots: the child asks for as many, to keep the numbers
    // A copy of that application's attach socket: while any process holds one, the daemon keeps
    // the application and its listeners (as fork shares descriptors), so a parent that exits at
    // once (a daemonizing server) cannot close them before the child shares them.
    int parent_attach_fd = -1;
    std::vector<InheritedListener> listeners;  // to share (Op::kShare) under the same numbers
    std::vector<int> others;                    // connections, unopened sockets: kInherited
  };

  struct Region {  // a mapped region and the attach socket it came with
    int fd = -1, event_fd = -1;
    void* base = nullptr;
    std::uint64_t size = 0;
    std::uint32_t app_id = 0;
  };

  static void after_fork_in_child();
  static void forget_thread_channel();
  int attach_locked(const std::string& prefix);
  int open_region(const std::string& prefix, const shim::AttachRequest& request, Region& out);
  void adopt_inheritance(bool joined);
  int channel_index();
  bool completions_pending();

  std::mutex attach_mutex_;
  std::atomic<bool> attached_{false};
  std::string last_error_;
  std::string prefix_;
  std::string inherited_prefix_;  // a forked child's: the daemon its parent was attached to
  std::unique_ptr<Inheritance> inherited_;  // a forked child's, until it attaches (attach_mutex_)
  std::uint32_t app_id_ = 0;
  std::uint64_t family_token_ = 0;  // our region's: a child we fork names us with it
  int attach_fd_ = -1;
  int event_fd_ = -1;
  shim::RegionView region_;
  std::atomic<bool> daemon_gone_{false};

  struct ChannelState {
    std::mutex mutex;
    std::vector<shim::RingProducer<RequestRing>> requests;       // per engine
    std::vector<shim::RingConsumer<CompletionRing>> completions;  // per engine
    std::uint64_t next_tag = 1;
  };
  std::unique_ptr<ChannelState[]> channels_;
  std::mutex channel_pool_mutex_;
  std::vector<int> free_channels_;
  std::atomic<std::uint32_t> shared_channel_{0};

  std::unique_ptr<Socket[]> sockets_;
  std::mutex slots_mutex_;
  std::vector<int> free_slots_;

  std::mutex events_mutex_;
  std::vector<shim::RingConsumer<EventQueue>> events_;  // per engine
  std::vector<int> changed_;  // sockets named by the events being drained (under events_mutex_)
  void notify_sockets(std::span<const int> sockets);

  std::mutex sleep_mutex_;      // held by the one thread that sleeps on the eventfd
  std::mutex followers_mutex_;
  std::condition_variable followers_;
  std::uint64_t wake_generation_ = 0;
  unsigned busy_poll_us_ = 0;
  bool always_wake_ = false;

  std::mutex epolls_mutex_;
  std::vector<std::unique_ptr<Epoll>> epolls_;
};

// errno helpers for the C API.
inline int fail(int error) {
  errno = error;
  return -1;
}

}  // namespace synwave::client
