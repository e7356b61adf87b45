// SipHash-2-4, written from the description in section 2 of the SipHash paper.
#include "tcp/siphash.h"

#include <bit>
#include <cstddef>

namespace synwave::tcp {
namespace {

// The internal state: four 64-bit words.
struct SipState {
  std::uint64_t v0, v1, v2, v3;

  // One SipRound: two ARX half-rounds mixing (v0, v1) and (v2, v3), then crossing them.
  void round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }

  // Compression of one message word m: c = 2 SipRounds.
  void absorb(std::uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

// Up to 8 bytes read as a little-endian integer.
std::uint64_t load_le(const std::uint8_t* p, std::size_t n) {
  std::uint64_t word = 0;
  for (std::size_t i = n; i > 0; --i) word = (word << 8) | p[i - 1];
  return word;
}

}  // namespace

std::uint64_t siphash24(const SipHashKey& key, std::span<const std::uint8_t> message) {
  // Initialisation: the key xored with the ASCII of "somepseudorandomlygeneratedbytes".
  SipState s{key.k0 ^ 0x736f6d6570736575ull, key.k1 ^ 0x646f72616e646f6dull,
             key.k0 ^ 0x6c7967656e657261ull, key.k1 ^ 0x7465646279746573ull};

  const std::size_t len = message.size();
  const std::size_t full = len / 8 * 8;
  for (std::size_t i = 0; i < full; i += 8) s.absorb(load_le(message.data() + i, 8));

  // Last word: the 0..7 remaining bytes, zero padding, and len mod 256 in the top byte.
  std::uint64_t last = load_le(message.data() + full, len - full);
  last |= static_cast<std::uint64_t>(len & 0xff) << 56;
  s.absorb(last);

  // Finalisation: d = 4 SipRounds after marking v2.
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace synwave::tcp
