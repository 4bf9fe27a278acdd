/* crc32.h - CRC-32 (IEEE 802.3) for checksums of what is stored on disk.
 * Thread-safe (the table is built once). */
#ifndef COMMON_CRC32_H_
#define COMMON_CRC32_H_

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC over n more bytes (start with crc = 0). */
uint32_t crc32_update(uint32_t crc, const void *p, size_t n);

#endif /* COMMON_CRC32_H_ */
