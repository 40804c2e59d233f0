/*
 * backend.h: where repository objects are stored.  A backend knows nothing
 * of the format: it stores named byte strings.  Names are relative paths of
 * printable ASCII such as "config", "keys/<hex>", "data/ab/<hex>"; no
 * component is empty, "." or "..", or starts with ".tmp-" (reserved for
 * temporary files); at most 1024 bytes.  Others give DSB_ERR_USAGE.
 *
 * Each driver is a const table of function pointers (after curl's
 * Curl_protocol and OpenSSH's sshkey_impl), found by URL scheme.
 * All operations on one opened backend may be called from several threads
 * at once.
 */
#ifndef DSBACKUP_BACKEND_H
#define DSBACKUP_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "dsbackup/buf.h"

/* put flags */
#define DSB_PUT_NO_OVERWRITE 0x1  /* fail with DSB_ERR_EXISTS if ${name} exists */

/* dsb_backend_list_cb: called once per object; a non-zero return stops the listing and is returned. */
typedef int (*dsb_backend_list_cb)(void *arg, const char *name, uint64_t size);

/*
 * dsb_backend_unfinished_cb: one unfinished write of the object ${name};
 * ${handle} is what the driver needs to discard it (an upload id).  A
 * non-zero return stops the listing and is returned.
 */
typedef int (*dsb_backend_unfinished_cb)(void *arg, const char *name, const char *handle);

struct dsb_backend_ops {
	const char *name;    /* "local" */
	const char *scheme;  /* URL prefix that selects it: "local:"; NULL: a plain path */

	/* open(location, statep): ${location} is the URL with the scheme removed. */
	int (*open)(const char *location, void **statep);
	/* create(state): make the container (directory tree, bucket); fine if it exists. */
	int (*create)(void *state);
	/*
	 * put(state, name, p, n, flags): store atomically and durably: after
	 * success the whole object is there, after failure or a crash either the
	 * old object or nothing.
	 */
	int (*put)(void *state, const char *name, const void *p, size_t n, unsigned flags);
	/*
	 * get(state, name, off, len, out): replace ${out}'s contents with bytes
	 * [off, off+len) of the object; len == 0 means to the end.
	 * DSB_ERR_NOT_FOUND if missing, DSB_ERR_CORRUPT if the object is shorter
	 * than off+len.
	 */
	int (*get)(void *state, const char *name, uint64_t off, uint64_t len, struct dsb_buf *out);
	/* stat(state, name, size): DSB_ERR_NOT_FOUND if missing. */
	int (*stat)(void *state, const char *name, uint64_t *size);
	/* remove(state, name): DSB_ERR_NOT_FOUND if missing. */
	int (*remove)(void *state, const char *name);
	/*
	 * remove_many(state, names, n, gone): remove the objects ${names}[0..n)
	 * in as few requests as the service allows (S3 DeleteObjects).  Optional:
	 * NULL means dsb_backend_remove_many loops over remove.  A missing object
	 * counts as removed.  Every object is tried; ${gone}[i] is set to 1 for
	 * each one that is gone afterwards, 0 for the others.  0 if all are gone,
	 * else the error of the first that is not (its name in the message, e.g.
	 * refused under object lock), each failure logged with its name.
	 */
	int (*remove_many)(void *state, const char *const *names, size_t n, unsigned char *gone);
	/*
	 * list(state, dir, cb, arg): every object below "${dir}/", any depth, names relative to the root.
	 * In no particular order; "" lists the whole repository; a missing ${dir} lists nothing (0).
	 */
	int (*list)(void *state, const char *dir, dsb_backend_list_cb cb, void *arg);
	/*
	 * list_unfinished(state, cb, arg): writes that began and did not end,
	 * neither stored nor discarded (S3: multipart uploads below the
	 * prefix): those of a process killed mid-put, and those running in
	 * other processes right now.  Optional: NULL for a driver whose
	 * interrupted writes leave nothing that costs or lingers.
	 */
	int (*list_unfinished)(void *state, dsb_backend_unfinished_cb cb, void *arg);
	/* abort_unfinished(state, name, handle): discard one; 0 if it is gone already. */
	int (*abort_unfinished)(void *state, const char *name, const char *handle);
	/* close(state): release everything; NULL is fine. */
	void (*close)(void *state);
};

extern const struct dsb_backend_ops dsb_backend_local;
extern const struct dsb_backend_ops dsb_backend_s3;
extern const struct dsb_backend_ops dsb_backend_fault;  /* tests: "fault:<URL>", backends/fault.c */

/*
 * Process-wide settings of the backends, from the command line or the
 * configuration.  Unset fields (NULL or 0) take the environment's value,
 * then the default; see dsb_backend_get_options.
 */
struct dsb_backend_options {
	const char *s3_endpoint;         /* DSBACKUP_S3_ENDPOINT: "https://host[:port]" for s3://BUCKET */
	const char *s3_region;           /* DSBACKUP_S3_REGION, then AWS_REGION...; "us-east-1" */
	const char *s3_addressing;       /* DSBACKUP_S3_ADDRESSING: "path" or "virtual" */
	const char *s3_ca_file;          /* DSBACKUP_S3_CA_FILE: PEM bundle for a private CA */
	const char *s3_storage_class;    /* DSBACKUP_S3_STORAGE_CLASS: for data/ objects */
	const char *s3_credentials_file; /* DSBACKUP_S3_CREDENTIALS_FILE: instead of ~/.aws/credentials */
	const char *s3_lock_mode;        /* DSBACKUP_S3_LOCK_MODE: "COMPLIANCE" (default) or "GOVERNANCE" */
	unsigned s3_retention_days;      /* DSBACKUP_S3_RETENTION_DAYS: object lock on data/, snapshots/ */
	int s3_connections;              /* DSBACKUP_S3_CONNECTIONS: parallel parts; default 4 */
	int s3_retries;                  /* DSBACKUP_S3_RETRIES: retries of a failed request; default 8 */
	uint64_t s3_multipart_threshold; /* DSBACKUP_S3_MULTIPART_THRESHOLD: bytes (K, M, G); 64M */
	uint64_t s3_part_size;           /* DSBACKUP_S3_PART_SIZE: bytes, at least 5M; 16M */
	int s3_delete_batch;             /* DSBACKUP_S3_DELETE_BATCH: keys per DeleteObjects, 1..1000; 1000 */
	int insecure_tls;                /* DSBACKUP_S3_INSECURE_TLS=1: do not verify certificates */
};

/*
 * dsb_backend_configure(o): set the process-wide options (copied); call it
 * before opening a backend and before starting threads.  NULL clears them.
 * 0 or DSB_ERR_NOMEM.
 */
int dsb_backend_configure(const struct dsb_backend_options *o);

/*
 * dsb_backend_get_options(out): the configured options with unset fields
 * filled from the environment.  Strings point into the configuration or
 * the environment and stay valid until the next dsb_backend_configure().
 * 0 or DSB_ERR_USAGE for an invalid environment value (named).
 */
int dsb_backend_get_options(struct dsb_backend_options *out);

struct dsb_backend {
	const struct dsb_backend_ops *ops;
	void *state;
	char *url;
};

/*
 * dsb_backend_open(url, out): choose the driver from the URL
 * ("local:/path" or a plain path for the local backend) and open it.
 * A URL starting with a letter, then letters or digits, then ':' names a
 * scheme; any other URL is a plain path ("repo", "./a:b", "/srv/repo").
 * 0 or error (DSB_ERR_USAGE for an unknown scheme).
 */
int dsb_backend_open(const char *url, struct dsb_backend **out);

/* dsb_backend_close(be): NULL is fine. */
void dsb_backend_close(struct dsb_backend *be);

#define DSB_BACKEND_NAME_MAX 1024  /* longest object name, in bytes */

/*
 * dsb_backend_check_name(name, allow_empty): 0 if ${name} follows the rules
 * above, else DSB_ERR_USAGE naming what is wrong.  The empty name (the root,
 * for list) is accepted only if ${allow_empty}.  Drivers call it first.
 */
int dsb_backend_check_name(const char *name, int allow_empty);

/* Wrappers that call the driver and add the object name to the error message. */
int dsb_backend_create(struct dsb_backend *be);
int dsb_backend_put(struct dsb_backend *be, const char *name, const void *p, size_t n, unsigned flags);
int dsb_backend_get(struct dsb_backend *be, const char *name, uint64_t off, uint64_t len,
    struct dsb_buf *out);
int dsb_backend_stat(struct dsb_backend *be, const char *name, uint64_t *size);
int dsb_backend_remove(struct dsb_backend *be, const char *name);
/*
 * dsb_backend_remove_many(be, names, n, gone): the driver's remove_many, or
 * remove() for each name (DSB_ERR_NOT_FOUND counting as removed) when it has
 * none; same contract.  The error names the storage and how many of ${n} failed.
 */
int dsb_backend_remove_many(struct dsb_backend *be, const char *const *names, size_t n,
    unsigned char *gone);
int dsb_backend_list(struct dsb_backend *be, const char *dir, dsb_backend_list_cb cb, void *arg);
/*
 * dsb_backend_list_unfinished(be, cb, arg): the driver's list_unfinished;
 * 0 without calling ${cb} for a driver that has none.  Only a process that
 * knows no other one is writing (repository locks) may abort what it lists.
 */
int dsb_backend_list_unfinished(struct dsb_backend *be, dsb_backend_unfinished_cb cb, void *arg);
/* dsb_backend_abort_unfinished(be, name, handle): the driver's abort_unfinished. */
int dsb_backend_abort_unfinished(struct dsb_backend *be, const char *name, const char *handle);

#endif
