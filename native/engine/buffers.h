// buffers.h — native memory for engine tensors, named by handles. JS holds a handle (a number:
// slot index + generation, so a stale handle is refused, never reused by accident) and frees it
// explicitly; the table owns the memory. Freed blocks are kept in per-size free lists: a
// training step allocates the same sizes every time, so after the first step memory comes back
// warm instead of as fresh page faults. The cache holds up to TBN_NATIVE_CACHE_MB (default 256)
// or, when more, as much as keeps live + cached blocks within the largest live total seen so
// far — so a step bigger than the cap (a large model or batch) is served from the cache too,
// and the process never holds more than its peak step needed. TBN_NATIVE_CACHE_MB=0 turns the
// cache off and allocates every block at its exact size.
// TBN_NATIVE_POISON=1 fills new buffers with 0xFF bytes (NaN) to catch reads of unset memory.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common.h"

namespace tbn {

class BufferTable {
 public:
  BufferTable();
  ~BufferTable();
  BufferTable(const BufferTable &) = delete;
  BufferTable &operator=(const BufferTable &) = delete;

  /** A new buffer of `size` elements (contents unset); returns its handle. */
  double alloc(DType dtype, int64_t size);
  void release(double handle);
  /** The live buffer behind `handle`; throws naming `what` for a freed or unknown handle. */
  Buf get(double handle, const char *what) const;

  int64_t live_buffers() const { return live_; }
  int64_t live_bytes() const { return bytes_; }
  int64_t cached_bytes() const { return cached_; }
  /** Returns every cached block to the system. */
  void trim();

 private:
  struct Slot {
    void *data = nullptr;
    int64_t size = 0;
    size_t block = 0;  // bytes actually allocated
    DType dtype = DType::f32;
    uint32_t gen = 0;
    bool live = false;
  };
  void *take(size_t block);
  void give(void *p, size_t block);

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<size_t, std::vector<void *>> cache_;
  int64_t live_ = 0, bytes_ = 0, cached_ = 0, cache_cap_ = 0;
  int64_t held_ = 0, peak_held_ = 0;  // bytes of live blocks (rounded sizes), and their high-water mark
  bool poison_ = false;
};

}  // namespace tbn
