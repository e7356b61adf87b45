#include "table/reader_domain.h"

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_memory.h>
#include <rte_rcu_qsbr.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace synwave {

namespace {
constexpr std::uint32_t kMaxReaders = 1024;
}  // namespace

absl::StatusOr<std::unique_ptr<ReaderDomain>> ReaderDomain::create(std::string_view name_view,
                                                                   std::uint32_t max_readers,
                                                                   int socket_id) {
  const std::string name(name_view);
  if (max_readers == 0 || max_readers > kMaxReaders) {
    return absl::InvalidArgumentError(
        absl::StrCat("reader domain ", name, ": max_readers must be 1..", kMaxReaders));
  }
  const std::size_t size = rte_rcu_qsbr_get_memsize(max_readers);
  const std::string label = absl::StrCat("qsbr_", name);
  auto* v = static_cast<rte_rcu_qsbr*>(
      rte_zmalloc_socket(label.c_str(), size, RTE_CACHE_LINE_SIZE, socket_id));
  if (v == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("reader domain ", name, ": no DPDK memory for ", size, " bytes"));
  }
  if (rte_rcu_qsbr_init(v, max_readers) != 0) {
    const int err = rte_errno;
    rte_free(v);
    return absl::InternalError(
        absl::StrCat("reader domain ", name, ": rte_rcu_qsbr_init: ", rte_strerror(err)));
  }
  return std::unique_ptr<ReaderDomain>(new ReaderDomain(v, max_readers));
}

ReaderDomain::~ReaderDomain() { rte_free(qsbr_); }

absl::Status ReaderDomain::register_reader(std::uint32_t reader_id) {
  if (reader_id >= max_readers_) {
    return absl::InvalidArgumentError(
        absl::StrCat("reader id ", reader_id, " out of range (max_readers ", max_readers_, ")"));
  }
  rte_rcu_qsbr_thread_register(qsbr_, reader_id);
  rte_rcu_qsbr_thread_online(qsbr_, reader_id);
  return absl::OkStatus();
}

void ReaderDomain::unregister_reader(std::uint32_t reader_id) {
  if (reader_id >= max_readers_) return;
  rte_rcu_qsbr_thread_offline(qsbr_, reader_id);
  rte_rcu_qsbr_thread_unregister(qsbr_, reader_id);
}

void ReaderDomain::online(std::uint32_t reader_id) { rte_rcu_qsbr_thread_online(qsbr_, reader_id); }

void ReaderDomain::offline(std::uint32_t reader_id) {
  rte_rcu_qsbr_thread_offline(qsbr_, reader_id);
}

void ReaderDomain::quiescent(std::uint32_t reader_id) { rte_rcu_qsbr_quiescent(qsbr_, reader_id); }

void ReaderDomain::synchronize(std::uint32_t self_id) {
  rte_rcu_qsbr_synchronize(qsbr_, self_id == kNoReader ? RTE_QSBR_THRID_INVALID : self_id);
}

}  // namespace synwave
