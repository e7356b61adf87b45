#include "table/connection_table.h"

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_jhash.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace synwave {

namespace {

// CRC32-C of the 12-byte tuple in two instructions (8 + 4 bytes) instead of rte_hash_crc()'s
// length loop. rte_hash_crc.h picks the SSE4.2 instruction at start-up when the CPU has it.
std::uint32_t crc_four_tuple(const void* key, std::uint32_t /*key_len*/, std::uint32_t init) {
  std::uint64_t head;
  std::uint32_t tail;
  std::memcpy(&head, key, sizeof(head));
  std::memcpy(&tail, static_cast<const char*>(key) + sizeof(head), sizeof(tail));
  return rte_hash_crc_4byte(tail, rte_hash_crc_8byte(head, init));
}

// rte_jhash over the 12 bytes as three 32-bit words (what rte_jhash() does for this length,
// without its alignment and length dispatch).
std::uint32_t jhash_four_tuple(const void* key, std::uint32_t /*key_len*/, std::uint32_t init) {
  std::uint32_t words[3];
  std::memcpy(words, key, sizeof(words));
  return rte_jhash_3words(words[0], words[1], words[2], init);
}

absl::Status dpdk_error(const std::string& name, const char* what, int err) {
  const std::string message =
      absl::StrCat("connection table ", name, ": ", what, ": ", rte_strerror(err));
  switch (err) {
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case ENOMEM:
    case ENOSPC:
      return absl::ResourceExhaustedError(message);
    case EINVAL:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace

static_assert(ConnectionTable::kBulkMax == RTE_HASH_LOOKUP_BULK_MAX);

absl::StatusOr<std::unique_ptr<ConnectionTable>> ConnectionTable::create(const Config& config) {
  if (config.name.empty() || config.name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(absl::StrCat("connection table name '", config.name,
                                                   "' must have 1..", kMaxNameLength,
                                                   " characters"));
  }
  if (config.capacity < 8 || config.capacity > RTE_HASH_ENTRIES_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("connection table ", config.name,
                                                   ": capacity must be 8..", RTE_HASH_ENTRIES_MAX));
  }
  if (config.readers == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("connection table ", config.name, ": a ReaderDomain is required"));
  }

  rte_hash_parameters params{};
  params.name = config.name.c_str();
  params.entries = config.capacity;
  params.key_len = sizeof(FourTuple);
  params.hash_func =
      config.hash == HashFunction::kCrc32 ? &crc_four_tuple : &jhash_four_tuple;
  params.hash_func_init_val = config.hash_seed;
  params.socket_id = config.socket_id;
  // Lock-free readers with one writer (no MULTI_WRITER_ADD: no writer lock, no per-lcore slot
  // caches). EXT_TABLE: colliding keys spill into linked buckets instead of failing the insert,
  // so exactly `capacity` entries always fit.
  params.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  rte_hash* h = rte_hash_create(&params);
  if (h == nullptr) return dpdk_error(config.name, "rte_hash_create", rte_errno);

  std::unique_ptr<ConnectionTable> table(new ConnectionTable(h, config));

  // Integrated RCU, defer-queue mode: erased key slots (and the values they point to) wait on a
  // FIFO until the ReaderDomain's readers have passed a quiescent state.
  rte_hash_rcu_config rcu{};
  rcu.v = config.readers->qsbr();
  rcu.mode = RTE_HASH_QSBR_MODE_DQ;
  rcu.dq_size = 0;  // default: capacity + 1, so every erased entry always fits in the queue
  rcu.trigger_reclaim_limit = kReclaimTrigger;
  rcu.max_reclaim_size = kReclaimTrigger;
  rcu.key_data_ptr = table.get();
  rcu.free_key_data_func = &ConnectionTable::reclaim_trampoline;
  if (rte_hash_rcu_qsbr_add(h, &rcu) != 0) {
    return dpdk_error(config.name, "rte_hash_rcu_qsbr_add", rte_errno);
  }
  return table;
}

ConnectionTable::ConnectionTable(rte_hash* h, const Config& config)
    : hash_(h),
      name_(config.name),
      capacity_(config.capacity),
      on_reclaim_(config.on_reclaim),
      reclaim_ctx_(config.reclaim_ctx) {}

ConnectionTable::~ConnectionTable() { rte_hash_free(hash_); }

void ConnectionTable::reclaim_trampoline(void* self, void* value) {
  const auto* table = static_cast<const ConnectionTable*>(self);
  if (table->on_reclaim_ != nullptr && value != nullptr) table->on_reclaim_(table->reclaim_ctx_, value);
}

std::uint32_t ConnectionTable::hash(const FourTuple& key) const {
  return rte_hash_hash(hash_, &key);
}

TableResult ConnectionTable::insert(const FourTuple& key, void* value) {
  return insert_with_hash(key, hash(key), value);
}

TableResult ConnectionTable::insert_with_hash(const FourTuple& key, std::uint32_t sig,
                                              void* value) {
  if (value == nullptr) return TableResult::kInvalid;
  // rte_hash_add_* overwrites the value of a present key; the single writer checks first, so
  // nothing can insert the key between the check and the add.
  if (rte_hash_lookup_with_hash(hash_, &key, sig) >= 0) return TableResult::kExists;
  const std::int32_t position = rte_hash_add_key_with_hash_data(hash_, &key, sig, value);
  if (position == -ENOSPC) return TableResult::kFull;
  if (position < 0) return TableResult::kInvalid;
  size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return TableResult::kOk;
}

TableResult ConnectionTable::replace(const FourTuple& key, void* value) {
  if (value == nullptr) return TableResult::kInvalid;
  const std::uint32_t sig = hash(key);
  if (rte_hash_lookup_with_hash(hash_, &key, sig) < 0) return TableResult::kNotFound;
  // On a present key rte_hash_add_* only stores the new value (atomically in lock-free mode).
  return rte_hash_add_key_with_hash_data(hash_, &key, sig, value) >= 0 ? TableResult::kOk : TableResult::kInvalid;
}

TableResult ConnectionTable::erase(const FourTuple& key) { return erase_with_hash(key, hash(key)); }

TableResult ConnectionTable::erase_with_hash(const FourTuple& key, std::uint32_t sig) {
  // Unlinks the key now; the integrated RCU defers freeing its slot (and calling ReclaimFn).
  const std::int32_t position = rte_hash_del_key_with_hash(hash_, &key, sig);
  if (position < 0) return TableResult::kNotFound;
  size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  return TableResult::kOk;
}

void* ConnectionTable::lookup(const FourTuple& key) const {
  void* value = nullptr;
  return rte_hash_lookup_data(hash_, &key, &value) >= 0 ? value : nullptr;
}

void* ConnectionTable::lookup_with_hash(const FourTuple& key, std::uint32_t sig) const {
  void* value = nullptr;
  return rte_hash_lookup_with_hash_data(hash_, &key, sig, &value) >= 0 ? value : nullptr;
}

std::uint64_t ConnectionTable::lookup_bulk(const FourTuple* const keys[], std::uint32_t count,
                                           void* values[]) const {
  if (count == 0 || count > kBulkMax) return 0;
  const void* raw[kBulkMax];
  for (std::uint32_t i = 0; i < count; ++i) {
    raw[i] = keys[i];
    values[i] = nullptr;  // DPDK writes only the hits
  }
  std::uint64_t hits = 0;
  if (rte_hash_lookup_bulk_data(hash_, raw, count, &hits, values) < 0) return 0;
  return hits;
}

bool ConnectionTable::next(std::uint32_t* cursor, FourTuple* key, void** value) const {
  const void* raw_key = nullptr;
  void* data = nullptr;
  if (rte_hash_iterate(hash_, &raw_key, &data, cursor) < 0) return false;
  std::memcpy(key, raw_key, sizeof(FourTuple));
  *value = data;
  return true;
}

}  // namespace synwave
