// The shim on one engine: serves every attached application's requests for this engine, moves
// bytes between the engine's TCP connections and the applications' shared rings, and hands
// accepted connections over. It runs as the engine's Application, on the engine's thread, with
// bounded work per iteration.
//
// Everything read from an application's region is copied out and validated before use (indices
// against this engine's own copies, slots against the geometry, ops and arguments against their
// ranges). Garbage in the rings detaches the application (AppSlot::fault); a request that is
// merely wrong (a slot in the wrong state, a bad option) is answered with an error and counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/application.h"
#include "shim/app_table.h"
#include "shim/shim_rings.h"
#include "tcp/tcp_stack.h"

namespace synwave::shim {

class ShimEngine : public Application {
 public:
  struct Params {
    unsigned engine = 0;             // this engine's index among the daemon's engines
    unsigned requests_per_poll = 64;  // per application channel and iteration
  };

  ShimEngine(AppTable& apps, const Params& params);
  ~ShimEngine() override;

  void start(std::span<tcp::TcpStack* const> tcp, Instant now) override;
  void poll(Instant now) override;
  // Resets every connection of every application (the daemon is stopping) and lets go of them.
  void stop() override;

  // The id of the application that owns TCP socket `tcp_socket` on this engine, or 0. Any thread.
  std::uint32_t owner_of(int tcp_socket) const;

 private:
  enum class Kind : std::uint8_t { kFree, kListener, kConnection };
  struct Sock {
    int tcp = -1;
    Kind kind = Kind::kFree;
    bool closing = false;       // the application closed it: drain the send ring, then close
    bool shut_write = false;    // SHUT_WR asked: applied once the send ring is drained
    bool read_done = false;     // end of stream (or error) moved to the receive ring
    bool read_error = false;    // recv() failed: its errno went to SocketShared::error
    bool in_retry = false;
    std::uint32_t rx_head = 0;  // our copies of the indices we produce
    std::uint32_t tx_tail = 0;
    std::uint32_t tx_limit = 0;  // the send ring's head when it was closed (drain no further)
    std::uint32_t accept_head = 0;
    std::uint32_t flags = 0;     // what we last published
  };
  struct App;
  struct Owner {                 // per TCP socket slot on this engine
    int tcp = -1;
    std::uint32_t app = 0;       // index into apps_ (the AppTable slot); a listener's first holder
    std::uint32_t socket = 0;    // the application's slot (adopted) or the listener's (pending)
    enum : std::uint8_t { kNone, kPending, kAdopted, kListener } kind = kNone;
    std::uint32_t listener = 0;  // kListener: index into listeners_
  };
  // A TCP listener and the application slots that hold it (a process and the children it forked
  // it to, Op::kShare). Each holder has its own accept ring; connections go round-robin to the
  // holders that accept.
  struct Holder {
    std::uint32_t app = 0;       // index into apps_
    std::uint32_t socket = 0;    // its slot
  };
  struct SharedListener {
    std::vector<Holder> holders;  // at most kMaxListenerHolders
    std::uint32_t next = 0;       // the holder that gets the next connection, if it accepts
  };

  void sync_apps();
  void attach(unsigned index);
  void leave(App& app, bool reset_all);   // the application left (or faulted, or we stop)
  void fault(App& app);
  void maybe_release(App& app);

  bool serve_requests(App& app);  // true when it took requests
  void handle(App& app, unsigned channel, const Request& req, Completion& out);
  std::int64_t open_listener(App& app, std::uint32_t slot, const Request& req);
  std::int64_t open_connection(App& app, std::uint32_t slot, const Request& req);
  std::int64_t adopt(App& app, std::uint32_t slot, const Request& req);
  std::int64_t share(App& app, std::uint32_t slot, const Request& req);
  void add_holder(App& app, std::uint32_t slot, int tcp_listener);
  bool drop_holder(App& app, std::uint32_t slot, int tcp_listener);  // true: it was the last
  std::int64_t apply_options(App& app, std::uint32_t slot, int tcp_socket);
  Sock& hold(App& app, std::uint32_t slot, int tcp_socket, Kind kind);
  void request_close(App& app, std::uint32_t slot, Sock& s);
  void finish_close(App& app, std::uint32_t slot, Sock& s);

  void on_tcp_ready(int tcp_socket);
  void distribute(int tcp_listener);
  void service(App& app, std::uint32_t slot, Sock& s);
  bool pull_rx(App& app, std::uint32_t slot, Sock& s);  // true when bytes or end of stream moved
  bool push_tx(App& app, std::uint32_t slot, Sock& s);  // true when bytes moved
  void publish_flags(App& app, std::uint32_t slot, Sock& s, std::uint32_t flags);
  void publish_addresses(App& app, std::uint32_t slot, int tcp_socket);
  void event(App& app, std::uint32_t slot, EventKind kind);
  void note_published(App& app);  // something for the application is in its rings
  void wake(App& app);
  void set_owner(int tcp_socket, const Owner& owner);
  void clear_owner(int tcp_socket);

  AppTable& apps_table_;
  Params params_;
  tcp::TcpStack* tcp_ = nullptr;
  std::uint64_t seen_epoch_ = ~std::uint64_t{0};
  std::vector<std::unique_ptr<App>> apps_;  // by AppTable slot
  std::vector<unsigned> active_;            // indexes of apps_ in use
  std::vector<Owner> owners_;               // by TcpStack::slot_of
  std::vector<SharedListener> listeners_;   // by Owner::listener
  std::vector<std::uint32_t> free_listeners_;
  std::unique_ptr<std::atomic<std::uint32_t>[]> published_owner_;  // app id by TCP slot, for ctl
  std::size_t owner_capacity_ = 0;
  std::vector<std::pair<unsigned, std::uint32_t>> retry_, retry_next_;  // (app, slot) to push again
  bool yield_after_wake_ = false;
  Instant now_{};
};

}  // namespace synwave::shim
