#include <zlib.h>
#include "ckernels.h"

unsigned int ckernels_crc32(const void *bytes, size_t count) {
  // zlib's crc32 takes at most UINT_MAX bytes per call.
  uLong crc = crc32(0L, Z_NULL, 0);
  const unsigned char *p = (const unsigned char *)bytes;
  while (count > 0) {
    uInt chunk = count > (1u << 30) ? (1u << 30) : (uInt)count;
    crc = crc32(crc, p, chunk);
    p += chunk;
    count -= chunk;
  }
  return (unsigned int)crc;
}
