/* idset.c: a set of 32-byte ids. */
#include <stdlib.h>
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/util.h"
#include "idset.h"

static size_t slot_of(const uint8_t id[32], size_t cap)
{
	return (size_t)dsb_get_le64(id) & (cap - 1);
}

static int alloc_slots(struct dsb_idset *s, size_t cap)
{
	if ((s->slots = malloc(cap * 32)) == NULL || (s->used = calloc(cap, 1)) == NULL) {
		free(s->slots);
		s->slots = NULL;
		return dsb_error(DSB_ERR_NOMEM, "out of memory for the id set");
	}
	s->cap = cap;
	s->n = 0;
	return 0;
}

int dsb_idset_init(struct dsb_idset *s)
{
	memset(s, 0, sizeof(*s));
	return alloc_slots(s, 1024);
}

void dsb_idset_release(struct dsb_idset *s)
{
	free(s->slots);
	free(s->used);
	memset(s, 0, sizeof(*s));
}

int dsb_idset_has(const struct dsb_idset *s, const uint8_t id[32])
{
	size_t i;

	if (s->cap == 0)
		return 0;
	for (i = slot_of(id, s->cap); s->used[i]; i = (i + 1) & (s->cap - 1))
		if (memcmp(s->slots[i], id, 32) == 0)
			return 1;
	return 0;
}

static void insert(struct dsb_idset *s, const uint8_t id[32])
{
	size_t i;

	for (i = slot_of(id, s->cap); s->used[i]; i = (i + 1) & (s->cap - 1))
		;
	memcpy(s->slots[i], id, 32);
	s->used[i] = 1;
	s->n++;
}

int dsb_idset_add(struct dsb_idset *s, const uint8_t id[32])
{
	struct dsb_idset old = *s;
	size_t i;
	int r;

	if (dsb_idset_has(s, id))
		return 0;
	if ((s->n + 1) * 2 > s->cap) {
		if ((r = alloc_slots(s, old.cap * 2)) != 0) {
			*s = old;
			return r;
		}
		for (i = 0; i < old.cap; i++)
			if (old.used[i])
				insert(s, old.slots[i]);
		free(old.slots);
		free(old.used);
	}
	insert(s, id);
	return 0;
}
