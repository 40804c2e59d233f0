/* repo_internal.h: shared by the files of the repository module only. */
#ifndef DSB_REPO_INTERNAL_H
#define DSB_REPO_INTERNAL_H

#include "dsbackup/repo.h"

struct dsb_repo {
	struct dsb_backend *be;
	struct dsb_keys *keys;
	struct dsb_repo_config cfg;
};

/* seal ${raw} as an object of ${type} and store it as "${dir}/<sha256>"; id_hex gets the name */
int dsb_repo_put_object(struct dsb_repo *r, const char *dir, const char *type, const void *raw,
    size_t len, char id_hex[65]);
/* fetch "${dir}/${id_hex}", check its hash, open it (at most ${max_raw} bytes) */
int dsb_repo_get_object(struct dsb_repo *r, const char *dir, const char *type, const char *id_hex,
    size_t max_raw, struct dsb_buf *out);

#endif
