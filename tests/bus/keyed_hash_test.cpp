// Hash tables keyed by what anyone on the bus chooses (busd's publishers, the
// logging node's service names) use bus::KeyedHash: keys found to share one
// bucket under std::hash spread out under it.
#define BOOST_TEST_MODULE keyed_hash
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cantina/bus/siphash.h"

namespace {

template <class Hash>
using Table = std::unordered_map<std::string, int, Hash, std::equal_to<>>;

constexpr std::size_t kTableSize = 4096;  // as ServiceNames' cache
constexpr std::size_t kCrafted = 256;

// Keys shaped as busd's (a service id, '\0', a publisher id's 8 bytes) that std::hash
// puts in one bucket of a table sized for kTableSize: what a hostile publisher can
// compute in advance, since std::hash has no secret.
std::vector<std::string> crafted_for_std_hash(std::size_t buckets) {
  std::vector<std::string> keys;
  std::string key = "svc";
  key += '\0';
  const std::size_t base = key.size();
  const std::size_t target = std::hash<std::string>{}(key + std::string(8, '\0')) % buckets;
  for (std::uint64_t publisher = 0; keys.size() < kCrafted; ++publisher) {
    key.resize(base);
    key.append(reinterpret_cast<const char*>(&publisher), sizeof publisher);
    if (std::hash<std::string>{}(key) % buckets == target) keys.push_back(key);
  }
  return keys;
}

template <class Hash>
std::size_t largest_bucket(const std::vector<std::string>& keys) {
  Table<Hash> table;
  table.reserve(kTableSize);
  for (const std::string& key : keys) table.emplace(key, 0);
  std::size_t largest = 0;
  for (std::size_t i = 0; i < table.bucket_count(); ++i) largest = std::max(largest, table.bucket_size(i));
  return largest;
}

}  // namespace

BOOST_AUTO_TEST_CASE(keys_crafted_for_one_bucket_spread_under_the_keyed_hash) {
  Table<std::hash<std::string>> sized;
  sized.reserve(kTableSize);
  const std::vector<std::string> keys = crafted_for_std_hash(sized.bucket_count());
  // The attack works on a table with std::hash: every key in one bucket.
  BOOST_TEST(largest_bucket<std::hash<std::string>>(keys) == kCrafted);
  // Under the keyed hash the same keys fall about one per bucket (256 keys in
  // about 4,100 buckets: a bucket of 8 has odds below one in 10^10).
  BOOST_TEST(largest_bucket<cantina::bus::KeyedHash>(keys) < 8U);
}

BOOST_AUTO_TEST_CASE(the_keyed_hash_looks_up_views_of_the_keys) {
  Table<cantina::bus::KeyedHash> table;
  table.emplace("music_controller", 1);
  const std::string_view view = "music_controller";
  BOOST_REQUIRE(table.find(view) != table.end());
  BOOST_TEST(table.find(view)->second == 1);
  BOOST_TEST(cantina::bus::KeyedHash{}("a") != cantina::bus::KeyedHash{}("b"));
}
