// SipHash (Aumasson and Bernstein, 2012): a keyed 64- or 128-bit hash. Without the
// key, nobody can make two inputs collide on purpose, which a fixed, published
// hash function allows (an attacker could then fold one service's records into
// another's, or flood a hash table).
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

namespace cantina::bus {

// SipHash-c-d: `CompressionRounds` rounds per 8-byte word, `FinalRounds` at the
// end. SipHash-2-4 is the reference; SipHash-1-3 (Rust's and Python's choice for
// hash tables) halves the cost and keeps the key secret as well.
template <int CompressionRounds, int FinalRounds>
class BasicSipHasher {
 public:
  // `wide`: for finish128(), the reference's 128-bit output (its own
  // initial state, so its first half differs from finish()'s value).
  BasicSipHasher(std::uint64_t key0, std::uint64_t key1, bool wide = false) noexcept
      : v0_(key0 ^ 0x736f6d6570736575ULL),
        v1_(key1 ^ 0x646f72616e646f6dULL ^ (wide ? 0xee : 0)),
        v2_(key0 ^ 0x6c7967656e657261ULL),
        v3_(key1 ^ 0x7465646279746573ULL) {}

  // Appends bytes to the input.
  void update(const void* data, std::size_t size) noexcept {
    const auto* at = static_cast<const unsigned char*>(data);
    length_ += size;
    if (pending_ != 0) {  // complete the partial word first
      while (size != 0 && pending_ != 8) {
        tail_ |= static_cast<std::uint64_t>(*at++) << (8 * pending_++);
        --size;
      }
      if (pending_ != 8) return;
      compress(tail_);
      tail_ = 0;
      pending_ = 0;
    }
    for (; size >= 8; at += 8, size -= 8) compress(load_le(at));
    for (std::size_t i = 0; i < size; ++i) tail_ |= static_cast<std::uint64_t>(at[i]) << (8 * i);
    pending_ = size;
  }
  void update(std::string_view text) noexcept { update(text.data(), text.size()); }
  void update_u64(std::uint64_t value) noexcept {
    unsigned char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
    update(bytes, sizeof bytes);
  }

  // The hash of everything appended. Call once.
  std::uint64_t finish() noexcept {
    compress(tail_ | (length_ << 56));
    v2_ ^= 0xff;
    for (int i = 0; i < FinalRounds; ++i) round();
    return v0_ ^ v1_ ^ v2_ ^ v3_;
  }

  // The 128-bit hash of everything appended (made `wide`), as two words: the
  // reference's output bytes 0-7 and 8-15, little-endian. Call once.
  std::pair<std::uint64_t, std::uint64_t> finish128() noexcept {
    compress(tail_ | (length_ << 56));
    v2_ ^= 0xee;
    for (int i = 0; i < FinalRounds; ++i) round();
    const std::uint64_t low = v0_ ^ v1_ ^ v2_ ^ v3_;
    v1_ ^= 0xdd;
    for (int i = 0; i < FinalRounds; ++i) round();
    return {low, v0_ ^ v1_ ^ v2_ ^ v3_};
  }

 private:
  static std::uint64_t rotl(std::uint64_t value, int bits) noexcept { return (value << bits) | (value >> (64 - bits)); }
  static std::uint64_t load_le(const unsigned char* at) noexcept {
    std::uint64_t value = 0;
    std::memcpy(&value, at, sizeof value);
    if constexpr (std::endian::native == std::endian::big) value = __builtin_bswap64(value);
    return value;
  }
  void round() noexcept {
    v0_ += v1_;
    v1_ = rotl(v1_, 13);
    v1_ ^= v0_;
    v0_ = rotl(v0_, 32);
    v2_ += v3_;
    v3_ = rotl(v3_, 16);
    v3_ ^= v2_;
    v0_ += v3_;
    v3_ = rotl(v3_, 21);
    v3_ ^= v0_;
    v2_ += v1_;
    v1_ = rotl(v1_, 17);
    v1_ ^= v2_;
    v2_ = rotl(v2_, 32);
  }
  void compress(std::uint64_t word) noexcept {
    v3_ ^= word;
    for (int i = 0; i < CompressionRounds; ++i) round();
    v0_ ^= word;
  }

  std::uint64_t v0_, v1_, v2_, v3_;
  std::uint64_t tail_ = 0;    // the last 0-7 bytes, little-endian
  std::size_t pending_ = 0;   // how many bytes tail_ holds
  std::uint64_t length_ = 0;  // bytes appended in all
};

using SipHasher = BasicSipHasher<2, 4>;
using SipHasher13 = BasicSipHasher<1, 3>;

// A key drawn once per process from getrandom(2) (or, without it, the C++
// library's random source), for the hash tables of busd and the nodes.
struct ProcessHashKey {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
};
const ProcessHashKey& process_hash_key() noexcept;

// The hash of hash-table keys that anyone on the bus chooses (service ids,
// publisher ids): SipHash-1-3 under process_hash_key(). std::hash is a fixed,
// published function: with it anyone can find, in seconds, as many keys as they
// like that share one bucket of a table of a given size, and make every lookup of
// them walk all the others.
struct KeyedHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const noexcept {
    const ProcessHashKey& key = process_hash_key();
    SipHasher13 hasher(key.k0, key.k1);
    hasher.update(text);
    return static_cast<std::size_t>(hasher.finish());
  }
};

}  // namespace cantina::bus
