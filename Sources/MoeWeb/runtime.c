// runtime.c: the tiny C runtime of kernels.wasm — a bump allocator over linear memory, memcpy, memset, memmove.
#include <stddef.h>

extern unsigned char __heap_base;
static size_t top = 0;

/* Returns 64-byte-aligned memory for `n` bytes, growing the linear memory as needed; 0 when it cannot grow. */
__attribute__((export_name("moe_alloc"))) void *moe_alloc(size_t n) {
  if (top == 0) top = (size_t)&__heap_base;
  size_t start = (top + 63) & ~(size_t)63, end = start + ((n + 63) & ~(size_t)63);
  if (end < start) return 0;
  size_t have = __builtin_wasm_memory_size(0) * 65536;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1) return 0;
  top = end;
  return (void *)start;
}

/* Frees everything allocated after `p` (a pointer moe_alloc returned; 0 frees everything). */
__attribute__((export_name("moe_reset"))) void moe_reset(void *p) { top = p ? (size_t)p : (size_t)&__heap_base; }

void *memcpy(void *d, const void *s, size_t n) {
  unsigned char *a = d; const unsigned char *b = s;
  while (n--) *a++ = *b++;
  return d;
}

void *memmove(void *d, const void *s, size_t n) {
  unsigned char *a = d; const unsigned char *b = s;
  if (a < b) while (n--) *a++ = *b++;
  else while (n--) a[n] = b[n];
  return d;
}

void *memset(void *d, int c, size_t n) {
  unsigned char *a = d;
  while (n--) *a++ = (unsigned char)c;
  return d;
}
