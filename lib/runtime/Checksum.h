/*===- Checksum.h - The weights file checksum -----------------------------===*\
|*                                                                            *|
|* Shared by the compiler (which writes the checksum of the weights file into *|
|* the object) and the runtime (which verifies it). docs/runtime-abi.md       *|
|* defines the function bit for bit.                                          *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef MOEC_RUNTIME_CHECKSUM_H
#define MOEC_RUNTIME_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A 64-bit non-cryptographic checksum of `size` bytes at `data`. */
uint64_t moec_checksum64(const void *data, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* MOEC_RUNTIME_CHECKSUM_H */
