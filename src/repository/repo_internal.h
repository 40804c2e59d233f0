/* repo_internal.h: shared by the files of the repository module only. */
#ifndef DSB_REPO_INTERNAL_H
#define DSB_REPO_INTERNAL_H

#include "dsbackup/repo.h"

struct dsb_repo {
	struct dsb_backend *be;
	struct dsb_keys *keys;
	struct dsb_repo_config cfg;
	char opened_slot[65];    /* the key slot that opened the repository ("" for several shares) */
	int run_key_stored;      /* write-only: this run's key is stored in a run-key slot */
	/* escrow (keys.c): recipients of run keys, and the escrow run key packs use meanwhile */
	char (*escrow)[DSB_RECIPIENT_LEN];
	size_t nescrow;
	struct dsb_keys *pack_keys;   /* NULL: packs use keys */
};
/* dsb_repo_escrow_release(r): forget the escrow recipients and key (keys.c). */
void dsb_repo_escrow_release(struct dsb_repo *r);

/* dsb_repo_unlock(r, u): find the master key with what ${u} offers (keys.c). */
int dsb_repo_unlock(struct dsb_repo *r, const struct dsb_unlock *u);
/* dsb_repo_store_run_key(r): on a write-only host, store this run's key (once) before the first write (keys.c). */
int dsb_repo_store_run_key(struct dsb_repo *r);
/* dsb_repo_who(host, hn, user, un): this host's and user's names, for key slots. */
void dsb_repo_who(char *host, size_t hn, char *user, size_t un);

/* seal ${raw} as an object of ${type} and store it as "${dir}/<sha256>"; id_hex gets the name */
int dsb_repo_put_object(struct dsb_repo *r, const char *dir, const char *type, const void *raw,
    size_t len, char id_hex[65]);
/* fetch "${dir}/${id_hex}", check its hash, open it (at most ${max_raw} bytes) */
int dsb_repo_get_object(struct dsb_repo *r, const char *dir, const char *type, const char *id_hex,
    size_t max_raw, struct dsb_buf *out);

/*
 * dsb_index_parse(p, n, cb, arg): the pack records of a decrypted index
 * payload (FORMAT.md §7), each checked, handed to ${cb} in order; a
 * non-zero return of ${cb} stops and is returned.  DSB_ERR_CORRUPT for
 * malformed records.  The record's entries are valid during the call only.
 */
int dsb_index_parse(const uint8_t *p, size_t n,
    int (*cb)(void *arg, const struct dsb_pack_record *rec), void *arg);

#endif
