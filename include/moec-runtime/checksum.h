/*===- checksum.h - The weights file checksum -----------------------------===*\
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

/* The same checksum over data that comes in pieces (the compiler writes a
 * weights file blob by blob): init, update with each piece in order, final.
 * The result equals moec_checksum64 of the pieces' concatenation. */
typedef struct {
  uint64_t lanes[4];
  uint64_t size;              /* bytes seen so far */
  unsigned char pending[8];   /* the first size % 8 bytes of an incomplete word */
} moec_checksum64_state;

void moec_checksum64_init(moec_checksum64_state *state);
void moec_checksum64_update(moec_checksum64_state *state, const void *data, size_t size);
uint64_t moec_checksum64_final(const moec_checksum64_state *state);

#ifdef __cplusplus
}
#endif

#endif /* MOEC_RUNTIME_CHECKSUM_H */
