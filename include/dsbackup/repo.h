/*
 * repo.h: a repository on a backend: its config, key slots, packs, index
 * objects, snapshots and locks (docs/FORMAT.md).  It knows the format and
 * nothing of Docker or of the catalog.
 *
 * A dsb_repo is shared by the threads of one operation: every function here
 * is thread-safe unless it says otherwise.
 */
#ifndef DSBACKUP_REPO_H
#define DSBACKUP_REPO_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/backend.h"
#include "dsbackup/chunker.h"
#include "dsbackup/crypto.h"
#include "dsbackup/pack.h"

struct dsb_repo_config {
	int version;
	char id[65];
	char created[64];
	struct dsb_chunker_params chunker;
	uint32_t pack_size;
	int compression;
};

struct dsb_repo_init_opts {
	struct dsb_kdf_params kdf;
	struct dsb_chunker_params chunker;
	uint32_t pack_size;
	int compression;
};

/* dsb_repo_init_opts_default(o): the defaults of FORMAT.md. */
void dsb_repo_init_opts_default(struct dsb_repo_init_opts *o);

struct dsb_repo;

/*
 * dsb_repo_init(url, pass, passlen, opts, out): create a repository.
 * DSB_ERR_EXISTS if ${url} already holds one.
 */
int dsb_repo_init(const char *url, const char *pass, size_t passlen,
    const struct dsb_repo_init_opts *opts, struct dsb_repo **out);

/*
 * dsb_repo_open(url, pass, passlen, out): DSB_ERR_NO_REPO when there is no
 * config; DSB_ERR_BAD_KEY when no key slot opens with ${pass}.
 */
int dsb_repo_open(const char *url, const char *pass, size_t passlen, struct dsb_repo **out);

/*
 * What may open a repository: a passphrase, identities (for "x25519" slots
 * and escrow shares), and shares decrypted earlier.  Any that works will do.
 */
struct dsb_unlock {
	const char *pass;             /* NULL: none */
	size_t passlen;
	struct dsb_identity *const *ids;
	size_t nids;
	struct dsb_share *const *shares;
	size_t nshares;
};

/* dsb_repo_open_with(url, u, out): as dsb_repo_open with any of the credentials in ${u}. */
int dsb_repo_open_with(const char *url, const struct dsb_unlock *u, struct dsb_repo **out);

/*
 * dsb_repo_open_public(url, out): config and storage without the master
 * key: only what needs no key works (listing key slots, dsb_repo_share_for).
 */
int dsb_repo_open_public(const char *url, struct dsb_repo **out);

/* dsb_repo_probe(url, cfg): read and check the config only (no password). */
int dsb_repo_probe(const char *url, struct dsb_repo_config *cfg);

void dsb_repo_close(struct dsb_repo *r);

/* ---- key slots (keys.c) ---- */

/* dsb_repo_list_slots(r, cb, arg): every key slot with its public fields; ${id} is its object id. */
int dsb_repo_list_slots(struct dsb_repo *r,
    int (*cb)(void *arg, const char *id, const struct dsb_keyslot_info *info), void *arg);
/* dsb_repo_opened_slot(r): the id of the slot that opened ${r} ("" when shares did). */
const char *dsb_repo_opened_slot(const struct dsb_repo *r);
/* dsb_repo_add_recipient_slot(r, recipient, id_out): wrap the master key to a public key. */
int dsb_repo_add_recipient_slot(struct dsb_repo *r, const char *recipient, char id_out[65]);
/* dsb_repo_add_escrow(r, threshold, recipients, n): K-of-N escrow shares, one slot each. */
int dsb_repo_add_escrow(struct dsb_repo *r, unsigned threshold, const char *const *recipients,
    size_t n);
/*
 * dsb_repo_remove_slot(r, prefix): remove the slot whose id starts with
 * ${prefix} (8+ hex digits).  Refused (DSB_ERR_USAGE) when no passphrase,
 * identity slot or complete escrow set would remain to open the repository.
 */
int dsb_repo_remove_slot(struct dsb_repo *r, const char *prefix);
/* dsb_repo_share_for(r, id, out): decrypt the escrow share wrapped to identity ${id} (DSB_ERR_NOT_FOUND). */
int dsb_repo_share_for(struct dsb_repo *r, const struct dsb_identity *id, struct dsb_share **out);

/*
 * Rotation (FORMAT.md §4): dsb_repo_rotate(r, pass, passlen, flags, stale)
 * makes a new current data key, stores keyring slots for it under every
 * data key, wraps it again in the slot that opened ${r} (a passphrase slot:
 * with ${pass}), in identity slots and escrow sets, and removes their old
 * versions.  ${stale} gets the number of other passphrase slots, which
 * still open the repository through the keyring.  The caller holds an
 * exclusive lock.
 */
int dsb_repo_rotate(struct dsb_repo *r, const char *pass, size_t passlen, unsigned flags,
    int *stale);
/*
 * dsb_repo_drop_old_keys(r, pass, passlen, in_use, arg, stale): as
 * dsb_repo_rotate, but the keyring keeps the current data key only; all
 * older keyring slots are removed, and run-key slots for which
 * ${in_use}(${arg}, key id hex) says 0.  Passphrase slots that were not
 * wrapped again (${stale}) no longer open the repository.
 */
int dsb_repo_drop_old_keys(struct dsb_repo *r, const char *pass, size_t passlen,
    int (*in_use)(void *arg, const char *key_id), void *arg, int *stale);
/* dsb_repo_add_write_only_slot(r, pass, passlen, kdf, id_out): a "write-only" slot (makes the repository key pair when missing). */
int dsb_repo_add_write_only_slot(struct dsb_repo *r, const char *pass, size_t passlen,
    const struct dsb_kdf_params *kdf, char id_out[65]);

/*
 * Escrow (FORMAT.md §4, "Escrowed sources"): dsb_repo_set_escrow(r,
 * recipients, n) checks and remembers escrow recipients (n = 0: none); a
 * write-only host then wraps its run keys to them too.  Between
 * dsb_repo_escrow_begin(r) and dsb_repo_escrow_end(r) packs are written
 * under a fresh escrow run key stored only in "run-key" slots wrapped to
 * those recipients (begin stores them; DSB_ERR_USAGE without recipients),
 * so that neither this host nor a password can read them.  Not
 * thread-safe: call between operations.
 */
int dsb_repo_set_escrow(struct dsb_repo *r, const char *const *recipients, size_t n);
int dsb_repo_escrow_begin(struct dsb_repo *r);
void dsb_repo_escrow_end(struct dsb_repo *r);
/* dsb_repo_pack_keys(r): the keys new packs are written under (the escrow run key, or the repository's). */
const struct dsb_keys *dsb_repo_pack_keys(const struct dsb_repo *r);

/* dsb_repo_add_passphrase_slot(r, pass, passlen, kdf): store one more key slot for the open master key. */
int dsb_repo_add_passphrase_slot(struct dsb_repo *r, const char *pass, size_t passlen,
    const struct dsb_kdf_params *kdf);
/* dsb_repo_put_slot(r, slot, len, id_out): store a serialised key slot under keys/<sha256>. */
int dsb_repo_put_slot(struct dsb_repo *r, const void *slot, size_t len, char id_out[65]);

const struct dsb_repo_config *dsb_repo_config(const struct dsb_repo *r);
const struct dsb_keys *dsb_repo_keys(const struct dsb_repo *r);
struct dsb_backend *dsb_repo_backend(const struct dsb_repo *r);

/* dsb_repo_pack_name(id, out): "data/ab/abcd..." (out: at least 80 bytes). */
void dsb_repo_pack_name(const uint8_t id[DSB_HASH_LEN], char *out);

/* dsb_repo_put_pack(r, res): store a finished pack (an identical existing pack is fine). */
int dsb_repo_put_pack(struct dsb_repo *r, const struct dsb_pack_result *res);

/*
 * dsb_repo_read_pack_trailer(r, id, size, hdr, entries, n): read the header
 * and trailer of pack ${id} of ${size} bytes (0: stat it first).
 */
int dsb_repo_read_pack_trailer(struct dsb_repo *r, const uint8_t id[DSB_HASH_LEN], uint64_t size,
    struct dsb_pack_header *hdr, struct dsb_pack_entry **entries, size_t *n);

/* Where one blob is stored, with what a reader needs to open it. */
struct dsb_blob_ref {
	uint8_t pack[DSB_HASH_LEN];
	struct dsb_pack_header header;
	struct dsb_pack_entry entry;   /* id, type, comp, lengths, offset */
};

/*
 * dsb_repo_read_blob(r, opener, ref, scratch, out): fetch, authenticate,
 * decompress and check the id.  ${scratch} holds the stored bytes.
 */
int dsb_repo_read_blob(struct dsb_repo *r, struct dsb_blob_opener *opener,
    const struct dsb_blob_ref *ref, struct dsb_buf *scratch, struct dsb_buf *out);

/* ---- index objects ---- */

struct dsb_pack_record {
	uint8_t id[DSB_HASH_LEN];
	uint64_t size;
	struct dsb_pack_header header;
	const struct dsb_pack_entry *entries;
	size_t n;
};

/* An index writer collects pack records and writes them as index objects. */
struct dsb_index_writer;
int dsb_index_writer_new(struct dsb_repo *r, struct dsb_index_writer **out);
void dsb_index_writer_free(struct dsb_index_writer *w);
/* dsb_index_writer_add(w, rec): copy a record in. */
int dsb_index_writer_add(struct dsb_index_writer *w, const struct dsb_pack_record *rec);
/* number of buffered blob entries (flush when large) */
size_t dsb_index_writer_pending(const struct dsb_index_writer *w);
/* dsb_index_writer_flush(w, id_hex): write buffered records as one index object; id_hex gets its name ("" if nothing pending). */
int dsb_index_writer_flush(struct dsb_index_writer *w, char id_hex[65]);

/* dsb_repo_read_index(r, id_hex, cb, arg): every pack record of one index object. */
int dsb_repo_read_index(struct dsb_repo *r, const char *id_hex,
    int (*cb)(void *arg, const struct dsb_pack_record *rec), void *arg);

/* ---- snapshots ---- */

/* dsb_repo_put_snapshot(r, json, id_hex): seal and store; id_hex gets its id. */
int dsb_repo_put_snapshot(struct dsb_repo *r, const char *json, char id_hex[65]);
/* dsb_repo_get_snapshot(r, id_hex, json): malloc'd NUL-terminated JSON. */
int dsb_repo_get_snapshot(struct dsb_repo *r, const char *id_hex, char **json);
/* dsb_repo_remove_snapshot(r, id_hex) */
int dsb_repo_remove_snapshot(struct dsb_repo *r, const char *id_hex);

/* dsb_repo_list(r, dir, cb, arg): hex ids of objects in "index", "snapshots", "keys", "locks", or pack ids in "data". */
int dsb_repo_list(struct dsb_repo *r, const char *dir,
    int (*cb)(void *arg, const char *id_hex, uint64_t size), void *arg);

/* ---- locks ---- */

struct dsb_lock;
/*
 * dsb_repo_lock(r, exclusive, out): take a lock as FORMAT.md §10 says.
 * DSB_ERR_LOCKED with a message naming the holder (host, pid, time) and
 * what to do.
 */
int dsb_repo_lock(struct dsb_repo *r, int exclusive, struct dsb_lock **out);
/*
 * dsb_repo_lock_wait(r, exclusive, max_wait_sec, out): as dsb_repo_lock, but
 * while the repository is locked by others, retry with growing pauses
 * (1 s doubling to 30 s) for up to ${max_wait_sec} seconds (0: no retry).
 * DSB_ERR_LOCKED when still locked; DSB_ERR_INTERRUPTED when a signal
 * arrives while waiting.
 */
int dsb_repo_lock_wait(struct dsb_repo *r, int exclusive, int max_wait_sec, struct dsb_lock **out);
/* dsb_lock_refresh(l): rewrite the lock if it is older than the refresh interval. */
int dsb_lock_refresh(struct dsb_lock *l);
/* dsb_lock_release(l): remove the lock object; NULL is fine. */
void dsb_lock_release(struct dsb_lock *l);
/* dsb_repo_unlock_stale(r, all, removed): remove stale locks (all locks if ${all}). */
int dsb_repo_unlock_stale(struct dsb_repo *r, int all, int *removed);

#endif
