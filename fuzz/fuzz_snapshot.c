/*
 * fuzz_snapshot.c: snapshot JSON (docs/FORMAT.md §9) through
 * dsb_snapshot_parse, as the catalog and the engine read it.
 */
#include <string.h>

#include "dsbackup/engine.h"
#include "dsbackup/error.h"
#include "fuzz.h"

#define SNAP_ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dsb_snapshot s;
	char *json;
	size_t i;

	if ((json = malloc(size + 1)) == NULL)
		return 0;
	memcpy(json, data, size);
	json[size] = '\0';
	if (dsb_snapshot_parse(SNAP_ID, json, &s) == 0) {
		FUZZ_CHECK(strcmp(s.id, SNAP_ID) == 0);
		FUZZ_CHECK(s.host != NULL && s.user != NULL && s.json != NULL);
		FUZZ_CHECK(s.time_nsec >= 0 && s.time_nsec <= 999999999);
		for (i = 0; i < s.npaths; i++)
			FUZZ_CHECK(s.paths[i] != NULL);
		for (i = 0; i < s.ntags; i++)
			FUZZ_CHECK(s.tags[i] != NULL);
		dsb_snapshot_release(&s);
	} else {
		FUZZ_CHECK(s.host == NULL && s.json == NULL && s.paths == NULL);
	}
	free(json);
	return 0;
}
