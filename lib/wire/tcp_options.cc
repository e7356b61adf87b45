#include "wire/tcp_options.h"

#include "wire/bytes.h"

namespace synwave::wire {
namespace {

constexpr std::uint8_t kNop = static_cast<std::uint8_t>(TcpOptionKind::kNop);
constexpr std::uint8_t kLenMss = 4;
constexpr std::uint8_t kLenWindowScale = 3;
constexpr std::uint8_t kLenSackPermitted = 2;
constexpr std::uint8_t kLenTimestamps = 10;
constexpr std::uint8_t kLenSackBase = 2;
constexpr std::uint8_t kLenSackBlock = 8;

enum class Mode { kStrict, kLenient };

// Whether `len` is a length that option `kind` can have (any length for unknown kinds).
bool length_fits(TcpOptionKind kind, std::size_t len) {
  switch (kind) {
    case TcpOptionKind::kMss:
      return len == kLenMss;
    case TcpOptionKind::kWindowScale:
      return len == kLenWindowScale;
    case TcpOptionKind::kSackPermitted:
      return len == kLenSackPermitted;
    case TcpOptionKind::kTimestamps:
      return len == kLenTimestamps;
    case TcpOptionKind::kSack:
      return len >= kLenSackBase + kLenSackBlock && (len - kLenSackBase) % kLenSackBlock == 0;
    default:
      return true;
  }
}

// Parses `in` into `out`; returns the first problem. Strict mode stops at it; lenient mode follows
// Linux (see parse_tcp_options_lenient). Every read is at an index checked against `in.size()`.
std::optional<TcpOptionError> parse(std::span<const std::uint8_t> in, Mode mode, TcpOptions& out) {
  std::optional<TcpOptionError> first;
  auto note = [&first](TcpOptionError e) {
    if (!first) first = e;
  };
  std::size_t i = 0;
  while (i < in.size()) {
    const auto kind = static_cast<TcpOptionKind>(in[i]);
    if (kind == TcpOptionKind::kEol) break;
    if (kind == TcpOptionKind::kNop) {
      ++i;
      continue;
    }
    if (in.size() - i < 2) {
      note(TcpOptionError::kMissingLength);
      break;
    }
    const std::size_t len = in[i + 1];
    if (len < 2) {
      note(TcpOptionError::kLengthTooShort);
      break;
    }
    if (len > in.size() - i) {
      note(TcpOptionError::kPastEnd);
      break;
    }
    if (!length_fits(kind, len)) {
      note(TcpOptionError::kWrongLength);
      if (mode == Mode::kStrict) return first;
      i += len;  // Linux ignores the option and goes on
      continue;
    }
    const std::uint8_t* data = in.data() + i + 2;
    switch (kind) {
      case TcpOptionKind::kMss:
        out.mss = load_be16(data);
        break;
      case TcpOptionKind::kWindowScale:
        out.window_scale = data[0];
        break;
      case TcpOptionKind::kSackPermitted:
        out.sack_permitted = true;
        break;
      case TcpOptionKind::kTimestamps:
        out.timestamps = TcpTimestamps{load_be32(data), load_be32(data + 4)};
        break;
      case TcpOptionKind::kSack: {
        std::size_t blocks = (len - kLenSackBase) / kLenSackBlock;
        if (blocks > TcpOptions::kMaxSackBlocks) {
          note(TcpOptionError::kTooManySackBlocks);
          if (mode == Mode::kStrict) return first;
          blocks = TcpOptions::kMaxSackBlocks;  // Linux reads at most 4
        }
        out.sack_count = 0;
        for (std::size_t b = 0; b < blocks; ++b)
          out.add_sack(SackBlock{load_be32(data + b * 8), load_be32(data + b * 8 + 4)});
        break;
      }
      default:
        break;  // unknown kind: skipped by its length
    }
    i += len;
  }
  return first;
}

}  // namespace

bool TcpOptions::add_sack(SackBlock block) {
  if (sack_count >= kMaxSackBlocks) return false;
  sack_blocks[sack_count++] = block;
  return true;
}

bool operator==(const TcpOptions& a, const TcpOptions& b) {
  if (a.mss != b.mss || a.window_scale != b.window_scale || a.sack_permitted != b.sack_permitted ||
      a.timestamps != b.timestamps || a.sack_count != b.sack_count)
    return false;
  for (std::size_t i = 0; i < a.sack_count && i < TcpOptions::kMaxSackBlocks; ++i)
    if (a.sack_blocks[i] != b.sack_blocks[i]) return false;
  return true;
}

Parsed<TcpOptions, TcpOptionError> parse_tcp_options(std::span<const std::uint8_t> options) {
  TcpOptions out;
  if (auto error = parse(options, Mode::kStrict, out)) return *error;
  return out;
}

TcpOptions parse_tcp_options_lenient(std::span<const std::uint8_t> options,
                                     std::optional<TcpOptionError>* first_error) {
  TcpOptions out;
  std::optional<TcpOptionError> error = parse(options, Mode::kLenient, out);
  if (first_error) *first_error = error;
  return out;
}

std::size_t tcp_options_len(const TcpOptions& o) {
  std::size_t len = 0;
  if (o.mss) len += 4;
  if (o.timestamps)
    len += 12;  // sackOK, if any, shares these 12 bytes
  else if (o.sack_permitted)
    len += 4;
  if (o.window_scale) len += 4;
  if (o.sack_count > 0) len += 4 + std::size_t{o.sack_count} * kLenSackBlock;
  return len;
}

Built write_tcp_options(const TcpOptions& o, std::span<std::uint8_t> out) {
  if (o.sack_count > TcpOptions::kMaxSackBlocks) return BuildError::kOptionsTooLong;
  const std::size_t len = tcp_options_len(o);
  if (len > kTcpMaxOptionsLen) return BuildError::kOptionsTooLong;
  if (out.size() < len) return BuildError::kBufferTooSmall;
  std::uint8_t* p = out.data();
  auto put4 = [&p](std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    p[0] = a;
    p[1] = b;
    p[2] = c;
    p[3] = d;
    p += 4;
  };
  auto kind = [](TcpOptionKind k) { return static_cast<std::uint8_t>(k); };
  if (o.mss) {
    put4(kind(TcpOptionKind::kMss), kLenMss, static_cast<std::uint8_t>(*o.mss >> 8),
         static_cast<std::uint8_t>(*o.mss));
  }
  if (o.timestamps) {
    if (o.sack_permitted)
      put4(kind(TcpOptionKind::kSackPermitted), kLenSackPermitted, kind(TcpOptionKind::kTimestamps),
           kLenTimestamps);
    else
      put4(kNop, kNop, kind(TcpOptionKind::kTimestamps), kLenTimestamps);
    store_be32(p, o.timestamps->val);
    store_be32(p + 4, o.timestamps->ecr);
    p += 8;
  } else if (o.sack_permitted) {
    put4(kNop, kNop, kind(TcpOptionKind::kSackPermitted), kLenSackPermitted);
  }
  if (o.window_scale)
    put4(kNop, kind(TcpOptionKind::kWindowScale), kLenWindowScale, *o.window_scale);
  if (o.sack_count > 0) {
    put4(kNop, kNop, kind(TcpOptionKind::kSack),
         static_cast<std::uint8_t>(kLenSackBase + o.sack_count * kLenSackBlock));
    for (const SackBlock& block : o.sacks()) {
      store_be32(p, block.left);
      store_be32(p + 4, block.right);
      p += 8;
    }
  }
  return len;
}

}  // namespace synwave::wire
