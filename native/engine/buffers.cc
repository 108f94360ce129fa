// buffers.cc — the handle table and its block cache. Handles are gen·2^24 + slot (exact in a
// JS number); block sizes are rounded up (64 B, then 4 KiB steps above 64 KiB) so that the
// free lists see few distinct sizes.
#include "buffers.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace tbn {

namespace {

constexpr uint32_t kSlotBits = 24;
constexpr double kSlotSpan = double(1u << kSlotBits);
constexpr uint32_t kMaxGen = 1u << 28;

size_t block_for(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= 65536) return (bytes + 63) & ~size_t(63);
  return (bytes + 4095) & ~size_t(4095);
}

}  // namespace

BufferTable::BufferTable() {
  int64_t mb = 256;
  if (const char *env = std::getenv("TBN_NATIVE_CACHE_MB")) mb = std::atoll(env);
  cache_cap_ = mb < 0 ? 0 : mb << 20;
  const char *poison = std::getenv("TBN_NATIVE_POISON");
  poison_ = poison && poison[0] == '1';
}

BufferTable::~BufferTable() {
  for (auto &s : slots_)
    if (s.live) std::free(s.data);
  trim();
}

static void *aligned(size_t bytes) {
  void *p = nullptr;
  return posix_memalign(&p, 64, bytes) == 0 ? p : nullptr;
}

void *BufferTable::take(size_t block) {
  auto it = cache_.find(block);
  if (it != cache_.end() && !it->second.empty()) {
    void *p = it->second.back();
    it->second.pop_back();
    cached_ -= static_cast<int64_t>(block);
    return p;
  }
  void *p = aligned(block);
  if (!p) {
    trim();
    p = aligned(block);
    if (!p) throw std::bad_alloc();
  }
  return p;
}

void BufferTable::give(void *p, size_t block) {
  const int64_t room = cache_cap_ > 0 && peak_held_ - held_ > cache_cap_ ? peak_held_ - held_ : cache_cap_;
  if (cached_ + static_cast<int64_t>(block) > room) {
    std::free(p);
    return;
  }
  cache_[block].push_back(p);
  cached_ += static_cast<int64_t>(block);
}

void BufferTable::trim() {
  for (auto &kv : cache_)
    for (void *p : kv.second) std::free(p);
  cache_.clear();
  cached_ = 0;
}

double BufferTable::alloc(DType dtype, int64_t size) {
  if (size < 0 || size > kMaxElements) fail("alloc: invalid buffer size " + std::to_string(size));
  const size_t bytes = static_cast<size_t>(size) * dtype_bytes(dtype);
  // Without a cache, blocks are exactly the buffer (so a sanitizer sees a one-past overrun).
  const size_t block = cache_cap_ > 0 ? block_for(bytes) : (bytes ? bytes : 1);
  uint32_t index;
  if (!free_slots_.empty()) {
    index = free_slots_.back();
    free_slots_.pop_back();
  } else {
    if (slots_.size() >= (size_t(1) << kSlotBits)) fail("alloc: too many live buffers");
    index = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  void *p;
  try {
    p = take(block);
  } catch (...) {
    free_slots_.push_back(index);
    throw;
  }
  if (poison_) std::memset(p, 0xff, block);
  Slot &s = slots_[index];
  s.data = p;
  s.size = size;
  s.block = block;
  s.dtype = dtype;
  s.gen = s.gen + 1 >= kMaxGen ? 1 : s.gen + 1;
  s.live = true;
  live_++;
  bytes_ += static_cast<int64_t>(bytes);
  held_ += static_cast<int64_t>(block);
  if (held_ > peak_held_) peak_held_ = held_;
  return static_cast<double>(s.gen) * kSlotSpan + index;
}

static bool decode(double h, uint32_t &index, uint32_t &gen) {
  if (!(h >= 0 && h < double(kMaxGen) * kSlotSpan) || h != std::floor(h)) return false;
  const uint64_t v = static_cast<uint64_t>(h);
  index = static_cast<uint32_t>(v & ((1u << kSlotBits) - 1));
  gen = static_cast<uint32_t>(v >> kSlotBits);
  return true;
}

void BufferTable::release(double handle) {
  uint32_t index, gen;
  if (!decode(handle, index, gen) || index >= slots_.size() || !slots_[index].live || slots_[index].gen != gen)
    fail("free: not a live buffer (freed twice?)");
  Slot &s = slots_[index];
  held_ -= static_cast<int64_t>(s.block);
  give(s.data, s.block);
  live_--;
  bytes_ -= static_cast<int64_t>(static_cast<size_t>(s.size) * dtype_bytes(s.dtype));
  s.data = nullptr;
  s.live = false;
  free_slots_.push_back(index);
}

Buf BufferTable::get(double handle, const char *what) const {
  uint32_t index, gen;
  if (!decode(handle, index, gen) || index >= slots_.size() || !slots_[index].live || slots_[index].gen != gen)
    fail(std::string(what) + ": buffer used after free (or not a buffer)");
  const Slot &s = slots_[index];
  return {s.data, s.size, s.dtype};
}

}  // namespace tbn
