/*
 * idset.h: a set of 32-byte ids (open addressing; ids are HMAC outputs, so
 * their first bytes are already uniformly distributed).  Holds the blobs
 * one backup run has submitted, which the catalog does not know yet.
 */
#ifndef DSB_IDSET_H
#define DSB_IDSET_H

#include <stddef.h>
#include <stdint.h>

struct dsb_idset {
	uint8_t (*slots)[32];
	uint8_t *used;
	size_t cap, n;
};

int dsb_idset_init(struct dsb_idset *s);
void dsb_idset_release(struct dsb_idset *s);
/* dsb_idset_has(s, id): 1 if present */
int dsb_idset_has(const struct dsb_idset *s, const uint8_t id[32]);
/* dsb_idset_add(s, id): 0 or DSB_ERR_NOMEM */
int dsb_idset_add(struct dsb_idset *s, const uint8_t id[32]);

#endif
