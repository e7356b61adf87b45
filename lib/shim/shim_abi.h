// The shared-memory layout between the synwave daemon's engines and an attached application: the
// only thing the engine side (lib/shim) and the client library (lib/client) have in common.
//
// No DPDK, no engine types: the client library builds against this header alone. Every field an
// application can write is untrusted on the engine side (see docs/shim.md, "What the engine
// trusts"): the engine keeps its own copy of every index it produces and only reads, validates
// and bounds what the application produces.
//
// One application's region (a memfd the daemon creates and passes over the attach socket):
//
//   RegionHeader                        4 KiB   geometry, daemon state, wake-up flags
//   Channel  [channels][engines]        per application thread and engine: request ring
//                                       (app -> engine) and completion ring (engine -> app)
//   EventRing[engines]                  per engine: "socket slot S changed" (engine -> app)
//   SocketShared[sockets]               per socket: flags, addresses, ring indices, options
//   byte buffers [sockets]              per socket: receive bytes then send bytes
//
// Every ring is single-producer single-consumer with free-running 32-bit indices: the producer
// writes the entry, then stores its index with release; the consumer loads it with acquire,
// reads, then stores its own index with release (which pairs with the producer's acquire load
// of it when it checks for room).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>

namespace synwave::shim {

inline constexpr std::uint64_t kRegionMagic = 0x31764d4853575953ull;  // "SYWSHMv1"
inline constexpr std::uint32_t kAbiVersion = 2;
inline constexpr unsigned kMaxEngines = 16;
inline constexpr unsigned kMaxChannels = 16;
inline constexpr unsigned kRingEntries = 256;     // request and completion rings
inline constexpr unsigned kEventEntries = 4096;   // event ring per engine
inline constexpr unsigned kMaxOptions = 12;       // socket options recorded before an open
inline constexpr unsigned kMaxLocalAddresses = 8;
// Applications of one family (a process and the children it forked) that may hold one TCP
// listener on an engine together (Op::kShare); beyond it kShare fails with ETOOMANYREFS.
inline constexpr unsigned kMaxListenerHolders = 64;
inline constexpr std::size_t kCacheLine = 64;

// The attach socket: /run/synwave/<file prefix>/shim.sock (SOCK_SEQPACKET).
inline constexpr const char* kRunDirectory = "/run/synwave";
inline constexpr const char* kSocketName = "shim.sock";

// --- attach messages (over the Unix socket) ----------------------------------------------------

struct AttachRequest {
  std::uint64_t magic = kRegionMagic;
  std::uint32_t abi_version = kAbiVersion;
  std::uint32_t channels = 4;   // application threads that may talk at once (1..kMaxChannels)
  std::uint32_t sockets = 0;    // 0: the daemon's per-application limit
  // A forked child names the attached application it inherited listeners from (0: none) and
  // that application's RegionHeader::family_token, which only processes mapping its region know.
  // The child joins that application's family (Op::kShare); a wrong token or an application that
  // is not attached any more refuses the attach (EPERM, ESRCH).
  std::uint32_t parent_app = 0;
  std::uint64_t parent_token = 0;
  char name[32] = {};           // the program's name, for synwave-ctl apps
};
static_assert(sizeof(AttachRequest) == 64);
// Sent with SCM_RIGHTS carrying the application's eventfd (the daemon writes it to wake it).

struct AttachReply {
  std::int32_t status = 0;      // 0, or a positive errno (EACCES, EPROTO, ENOMEM, EMFILE, ...)
  std::uint32_t app_id = 0;
  std::uint64_t region_size = 0;
  char message[96] = {};        // why, when status != 0
};
// Sent with SCM_RIGHTS carrying the region's memfd when status == 0.

// --- rings -------------------------------------------------------------------------------------

struct alignas(kCacheLine) RingIndex {
  std::atomic<std::uint32_t> value{0};
  char pad[kCacheLine - sizeof(std::atomic<std::uint32_t>)];
};

enum class Op : std::uint32_t {
  kNone = 0,
  kListen = 1,      // args: local addr, port, backlog; options from SocketShared::options
  kConnect = 2,     // args: remote addr, port, local addr, local port; options likewise
  kAdopt = 3,       // args: the engine's connection id from an AcceptEntry: it now belongs to `socket`
  kSend = 4,        // bytes are in the send ring (sent once per tx_doorbell 0 -> 1)
  kReceiveSpace = 5,  // the receive ring has room again (after rx_wanted was set)
  kShutdown = 6,    // args: SHUT_RD / SHUT_WR / SHUT_RDWR
  kClose = 7,       // the application is done with the slot; a kReleased event gives it back
  kSetOption = 8,   // args: SockOpt value, option value
  kGetOption = 9,   // args: SockOpt value; completion value[0]
  // args: holder app id, holder slot. `socket` (free) becomes another holder of the TCP listener
  // that application holds in that slot on this engine: valid when it is attached, of the same
  // family (a forked parent or sibling) and that slot is a listener. Each holder gets accepted
  // connections in its own accept ring, round-robin among the holders that set `accepting`; the
  // TCP listener closes with its last holder. Errors: ESRCH, EPERM, EINVAL, ETOOMANYREFS.
  kShare = 10,
  kCount
};

// app -> engine. `tag` comes back in the completion (0: no completion wanted).
struct Request {
  Op op = Op::kNone;
  std::uint32_t socket = 0;      // the application's socket slot
  std::uint64_t tag = 0;
  std::int64_t args[6] = {};
};
static_assert(sizeof(Request) == 64);

// engine -> app: the answer to a request with a non-zero tag.
struct Completion {
  std::uint64_t tag = 0;
  Op op = Op::kNone;
  std::uint32_t socket = 0;
  std::int64_t result = 0;       // >= 0, or -errno
  std::int64_t values[5] = {};
};
static_assert(sizeof(Completion) == 64);

template <typename Entry, unsigned kEntries>
struct MessageRing {
  static_assert((kEntries & (kEntries - 1)) == 0);
  static constexpr unsigned kCapacity = kEntries;
  RingIndex head;   // producer's: entries [tail, head) are published
  RingIndex tail;   // consumer's
  Entry entries[kEntries];
};

struct Channel {
  MessageRing<Request, kRingEntries> requests;        // app thread -> engine
  MessageRing<Completion, kRingEntries> completions;  // engine -> app thread
};

enum class EventKind : std::uint32_t {
  kChanged = 1,   // flags, rings or the accept queue of `socket` changed: look again
  kReleased = 2,  // the engine is done with `socket` after kClose: the slot may be reused
};

struct Event {
  std::uint32_t socket = 0;
  EventKind kind = EventKind::kChanged;
};

struct EventRing {
  MessageRing<Event, kEventEntries> ring;
  // Set by the engine when an event did not fit: the application rescans every socket.
  std::atomic<std::uint32_t> overflowed{0};
};

// --- sockets -----------------------------------------------------------------------------------

// SocketShared::flags, written by the engine (the same meanings as tcp::Readiness where they
// overlap, plus the shim's own).
enum SocketFlag : std::uint32_t {
  kFlagConnected = 1u << 0,    // the handshake completed; addresses are valid
  kFlagPeerClosed = 1u << 1,   // the peer's FIN: once the receive ring is empty, reads return 0
  kFlagError = 1u << 2,        // `error` holds a pending errno (SO_ERROR)
  kFlagClosed = 1u << 3,       // the connection is over (reset, timed out, or both sides closed)
  kFlagWriteShut = 1u << 5,    // the engine took SHUT_WR: sends fail with EPIPE
};

struct AcceptEntry {
  std::int32_t connection = 0;  // the engine's id, for Op::kAdopt
  std::uint32_t remote_addr = 0;  // network order
  std::uint16_t remote_port = 0;  // host order
  std::uint16_t engine = 0;
  std::uint32_t local_addr = 0;
};
static_assert(sizeof(AcceptEntry) == 16);

// Socket options by number: tcp::SockOpt's values (shim_engine.cc checks that they agree).
enum class Option : std::uint32_t {
  kReuseAddr = 0, kLinger = 1, kError = 2, kNoDelay = 3, kKeepAlive = 4, kMaxSeg = 5, kSndBuf = 6,
  kRcvBuf = 7, kKeepIdle = 8, kKeepIntvl = 9, kKeepCnt = 10, kCongestion = 11, kCork = 12,
};
inline constexpr std::int32_t kCongestionReno = 0, kCongestionCubic = 1;  // tcp::CongestionAlgorithm

struct SocketOption {
  std::uint32_t option = 0;  // tcp::SockOpt value
  std::int32_t value = 0;
};

struct alignas(kCacheLine) SocketShared {
  // Engine-written; flags are stored with release after the fields they announce.
  std::atomic<std::uint32_t> flags{0};
  std::atomic<std::uint32_t> error{0};  // positive errno while kFlagError
  std::atomic<std::uint32_t> state{0};  // tcp::State, for TCP_INFO
  std::uint32_t local_addr = 0, remote_addr = 0;  // network order
  std::uint16_t local_port = 0, remote_port = 0;  // host order
  std::atomic<std::uint32_t> engine{0};  // the engine that owns the connection
  // rx_wanted: the engine found the receive ring full and waits for Op::kReceiveSpace.
  // tx_wanted: the application found the send ring full and waits for a kChanged event.
  std::atomic<std::uint32_t> rx_wanted{0};
  std::atomic<std::uint32_t> tx_wanted{0};
  // 1 while an Op::kSend is on its way: the application sends one per 0 -> 1 change.
  std::atomic<std::uint32_t> tx_doorbell{0};

  RingIndex rx_head;  // engine: bytes received
  RingIndex rx_tail;  // app: bytes read
  RingIndex tx_head;  // app: bytes written
  RingIndex tx_tail;  // engine: bytes taken into TCP

  // Written by the application before kListen / kConnect; read once by the engine.
  std::uint32_t option_count = 0;
  SocketOption options[kMaxOptions] = {};

  // A listener's accepted connections, one ring per engine, inside its receive buffer.
  std::atomic<std::uint32_t> accept_head[kMaxEngines] = {};  // engine
  std::atomic<std::uint32_t> accept_tail[kMaxEngines] = {};  // app
  // App: non-zero once the application accepts on this listener (accept, epoll interest, poll),
  // followed by an Op::kReceiveSpace so that the engine hands it what waits. Until then the
  // engine hands its accept ring nothing: a forked parent that never accepts (nginx's master)
  // leaves every connection to its children.
  std::atomic<std::uint32_t> accepting{0};
};

// --- the region --------------------------------------------------------------------------------

enum class DaemonState : std::uint32_t { kRunning = 1, kStopped = 2, kDetached = 3 };

struct alignas(4096) RegionHeader {
  std::uint64_t magic;
  std::uint32_t abi_version;
  std::uint32_t app_id;
  std::uint64_t region_size;
  std::uint32_t engines;
  std::uint32_t channels;
  std::uint32_t sockets;
  std::uint32_t buffer_bytes;      // receive ring and send ring each, per socket (power of two)
  std::uint64_t channels_offset;
  std::uint64_t events_offset;
  std::uint64_t sockets_offset;
  std::uint64_t buffers_offset;
  std::uint32_t local_addresses[kMaxLocalAddresses];  // network order; 0 ends the list
  std::uint32_t mtu;
  // Random, written by the daemon: a forked child proves with it that it inherited this region
  // (AttachRequest::parent_token). The daemon checks against its own copy, never this one.
  std::uint64_t family_token;
  // kRunning while the daemon serves this application; kStopped when the daemon stops;
  // kDetached when it cut this application off (a fault in the rings). Store-release by the
  // daemon after everything it announces; the application loads with acquire.
  std::atomic<std::uint32_t> daemon_state;
  // The application sets `waiting` (seq_cst) before it sleeps on its eventfd and re-checks its
  // rings; an engine that published something loads it after a seq_cst fence and writes the
  // eventfd only when it is set (Dekker: one of the two always sees the other).
  alignas(kCacheLine) std::atomic<std::uint32_t> waiting;
  alignas(kCacheLine) std::atomic<std::uint64_t> wakeups;  // eventfd writes, for synwave-ctl apps
};

// The region's geometry, computed the same way on both sides.
struct Geometry {
  std::uint32_t engines, channels, sockets, buffer_bytes;
  std::uint64_t channels_offset, events_offset, sockets_offset, buffers_offset, size;
};

constexpr std::uint64_t align_up(std::uint64_t v, std::uint64_t a) { return (v + a - 1) / a * a; }

constexpr Geometry geometry(std::uint32_t engines, std::uint32_t channels, std::uint32_t sockets,
                            std::uint32_t buffer_bytes) {
  Geometry g{engines, channels, sockets, buffer_bytes, 0, 0, 0, 0, 0};
  g.channels_offset = align_up(sizeof(RegionHeader), 4096);
  g.events_offset = align_up(g.channels_offset + std::uint64_t{channels} * engines * sizeof(Channel), 4096);
  g.sockets_offset = align_up(g.events_offset + std::uint64_t{engines} * sizeof(EventRing), 4096);
  g.buffers_offset = align_up(g.sockets_offset + std::uint64_t{sockets} * sizeof(SocketShared), 4096);
  g.size = g.buffers_offset + std::uint64_t{sockets} * 2 * buffer_bytes;
  return g;
}

// Writes the header of a fresh (zero-filled) region: what the daemon does when it creates one.
// `addresses`: kMaxLocalAddresses entries in network order, 0 for none.
inline RegionHeader* init_region_header(void* base, const Geometry& g, std::uint32_t app_id,
                                        const std::uint32_t* addresses, std::uint32_t mtu,
                                        std::uint64_t family_token = 0) {
  auto* header = new (base) RegionHeader{};
  header->magic = kRegionMagic;
  header->abi_version = kAbiVersion;
  header->app_id = app_id;
  header->region_size = g.size;
  header->engines = g.engines;
  header->channels = g.channels;
  header->sockets = g.sockets;
  header->buffer_bytes = g.buffer_bytes;
  header->channels_offset = g.channels_offset;
  header->events_offset = g.events_offset;
  header->sockets_offset = g.sockets_offset;
  header->buffers_offset = g.buffers_offset;
  for (unsigned k = 0; k < kMaxLocalAddresses; ++k) header->local_addresses[k] = addresses[k];
  header->mtu = mtu;
  header->family_token = family_token;
  header->daemon_state.store(static_cast<std::uint32_t>(DaemonState::kRunning), std::memory_order_relaxed);
  return header;
}

// Typed views of a mapped region (both sides; the engine uses its own geometry, never the
// header's, which the application could have changed).
struct RegionView {
  std::uint8_t* base = nullptr;
  Geometry g{};

  RegionHeader& header() const { return *reinterpret_cast<RegionHeader*>(base); }
  Channel& channel(std::uint32_t c, std::uint32_t engine) const {
    return reinterpret_cast<Channel*>(base + g.channels_offset)[std::size_t{c} * g.engines + engine];
  }
  EventRing& events(std::uint32_t engine) const {
    return reinterpret_cast<EventRing*>(base + g.events_offset)[engine];
  }
  SocketShared& socket(std::uint32_t s) const {
    return reinterpret_cast<SocketShared*>(base + g.sockets_offset)[s];
  }
  std::uint8_t* rx_bytes(std::uint32_t s) const {
    return base + g.buffers_offset + std::uint64_t{s} * 2 * g.buffer_bytes;
  }
  std::uint8_t* tx_bytes(std::uint32_t s) const { return rx_bytes(s) + g.buffer_bytes; }
  // A listener's accept ring for `engine`: its share of the receive buffer.
  std::uint32_t accept_capacity() const {
    std::uint32_t n = g.buffer_bytes / g.engines / sizeof(AcceptEntry);
    while (n & (n - 1)) n &= n - 1;  // a power of two
    return n;
  }
  AcceptEntry* accept_entries(std::uint32_t s, std::uint32_t engine) const {
    return reinterpret_cast<AcceptEntry*>(rx_bytes(s)) + std::size_t{engine} * accept_capacity();
  }
};

}  // namespace synwave::shim
