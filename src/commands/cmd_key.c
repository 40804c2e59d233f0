/* cmd_key.c: dsbackup key list|add|remove|passwd|generate|escrow|share|recover|rotate */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/crypto.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

struct key_args {
	const char *new_password_file;
	const char *recipients[255];
	size_t nrecipients;
	unsigned threshold;
	const char *out;
	int write_only;
	int rewrite;
	int lock_wait_sec;
};

static int key_option(struct cli *c, int opt, const char *arg, void *ctx)
{
	struct key_args *a = ctx;
	char *end;
	unsigned long v;

	switch (opt) {
	case 0x2001: a->new_password_file = arg; return 0;
	case 0x2002:
		if (a->nrecipients == 255)
			return cli_usage_error(c, "at most 255 recipients");
		a->recipients[a->nrecipients++] = arg;
		return 0;
	case 0x2003:
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno != 0 || *end != '\0' || v < 1 || v > 255)
			return cli_usage_error(c, "--threshold: \"%s\" is not a number in 1..255", arg);
		a->threshold = (unsigned)v;
		return 0;
	case 'o': a->out = arg; return 0;
	case 0x2004: a->write_only = 1; return 0;
	case 0x2005: a->rewrite = 1; return 0;
	case 0x2f01: return cli_lock_wait(c, arg, &a->lock_wait_sec);
	default: return cli_usage_error(c, "invalid option");
	}
}

/* a recipient given as the string itself or as a file holding it (an identity file will do) */
static int resolve_recipient(const char *arg, char out[DSB_RECIPIENT_LEN])
{
	struct dsb_buf b;
	char *p, *end;
	int r;

	if (strncmp(arg, "dsbr1", 5) == 0 && access(arg, F_OK) != 0) {
		snprintf(out, DSB_RECIPIENT_LEN, "%s", arg);
		return dsb_recipient_check(out);
	}
	dsb_buf_init(&b, 64 * 1024);
	if ((r = dsb_read_file(arg, 64 * 1024, &b)) != 0)
		goto out;
	if ((r = dsb_buf_append(&b, "", 1)) != 0)
		goto out;
	if ((p = strstr((char *)b.data, "dsbr1")) == NULL) {
		r = dsb_error(DSB_ERR_USAGE, "%s holds no recipient (dsbr1...)", arg);
		goto out;
	}
	end = p + strspn(p, "dsbr0123456789abcdef");
	*end = '\0';
	snprintf(out, DSB_RECIPIENT_LEN, "%s", p);
	r = dsb_recipient_check(out);
out:
	dsb_buf_release_secret(&b);
	return r;
}

static int new_password(struct cli *c, const struct key_args *a, char **pw, size_t *len)
{
	char *again = NULL;
	size_t alen = 0;
	int r;

	(void)c;
	if (a->new_password_file != NULL)
		return dsb_secret_from_file(a->new_password_file, pw, len);
	if ((r = dsb_secret_prompt("new password: ", pw, len)) != 0)
		return r;
	if ((r = dsb_secret_prompt("repeat the new password: ", &again, &alen)) != 0)
		return r;
	if (alen != *len || memcmp(again, *pw, alen) != 0)
		r = dsb_error(DSB_ERR_USAGE, "the passwords do not match");
	dsb_secret_free(again, alen);
	return r;
}

static int print_slot(void *arg, const char *id, const struct dsb_keyslot_info *info)
{
	struct cli *c = arg;
	char detail[128] = "";

	if (c->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "type", info->type,
		    "created", info->created, "host", info->host, "user", info->user);

		if (info->recipient[0] != '\0')
			json_object_set_new(o, "recipient", json_string(info->recipient));
		if (info->key_id[0] != '\0')
			json_object_set_new(o, "key_id", json_string(info->key_id));
		if (strcmp(info->type, "escrow-share") == 0) {
			json_object_set_new(o, "set", json_string(info->set));
			json_object_set_new(o, "threshold", json_integer(info->threshold));
			json_object_set_new(o, "shares", json_integer(info->shares));
			json_object_set_new(o, "index", json_integer(info->index));
		}
		cli_print_json(o);
		return 0;
	}
	if (strcmp(info->type, "passphrase") == 0)
		snprintf(detail, sizeof(detail), "scrypt N=2^%u r=%u p=%u", info->log2_n, info->r, info->p);
	else if (strcmp(info->type, "x25519") == 0)
		snprintf(detail, sizeof(detail), "%.24s...", info->recipient);
	else if (strcmp(info->type, "write-only") == 0)
		snprintf(detail, sizeof(detail), "scrypt N=2^%u r=%u p=%u, adds snapshots only",
		    info->log2_n, info->r, info->p);
	else if (strcmp(info->type, "keyring") == 0)
		snprintf(detail, sizeof(detail), "generation %u, under data key %s", info->generation,
		    info->key_id);
	else if (strcmp(info->type, "run-key") == 0)
		snprintf(detail, sizeof(detail), "data key %s of a write-only run", info->key_id);
	else
		snprintf(detail, sizeof(detail), "set %.8s share %u of %u (threshold %u) %.16s...",
		    info->set, info->index, info->shares, info->threshold, info->recipient);
	printf("%.16s  %-12s  %.19s  %s@%s  %s\n", id, info->type, info->created, info->user,
	    info->host, detail);
	return 0;
}

static int key_list(struct cli *c, struct dsb_repo *repo)
{
	if (!c->json)
		printf("%-16s  %-12s  %-19s  %s\n", "ID", "Type", "Created", "Added by");
	return dsb_repo_list_slots(repo, print_slot, c);
}

static int key_add(struct cli *c, struct dsb_repo *repo, const struct key_args *a)
{
	char rcpt[DSB_RECIPIENT_LEN], id[65];
	char *pw = NULL;
	size_t len = 0, i;
	int r = 0;

	for (i = 0; i < a->nrecipients && r == 0; i++) {
		if ((r = resolve_recipient(a->recipients[i], rcpt)) == 0 &&
		    (r = dsb_repo_add_recipient_slot(repo, rcpt, id)) == 0 && !c->quiet)
			printf("added key slot %.16s for recipient %.24s...\n", id, rcpt);
	}
	if (r != 0 || a->nrecipients > 0)
		return r;
	if (a->write_only) {
		if ((r = new_password(c, a, &pw, &len)) == 0 &&
		    (r = dsb_repo_add_write_only_slot(repo, pw, len, NULL, id)) == 0 && !c->quiet)
			printf("added write-only key slot %.16s: it can add snapshots but not read "
			    "any\n", id);
		dsb_secret_free(pw, len);
		return r;
	}
	if ((r = new_password(c, a, &pw, &len)) == 0 &&
	    (r = dsb_repo_add_passphrase_slot(repo, pw, len, NULL)) == 0 && !c->quiet)
		printf("added a passphrase key slot\n");
	dsb_secret_free(pw, len);
	return r;
}

static int key_passwd(struct cli *c, struct dsb_repo *repo, const struct key_args *a)
{
	char old[65];
	char *pw = NULL;
	size_t len = 0;
	int r;

	snprintf(old, sizeof(old), "%s", dsb_repo_opened_slot(repo));
	if (old[0] == '\0')
		return dsb_error(DSB_ERR_USAGE, "the repository was not opened by one passphrase slot; "
		    "use \"key add\" and \"key remove\"");
	if ((r = new_password(c, a, &pw, &len)) == 0 &&
	    (r = dsb_repo_add_passphrase_slot(repo, pw, len, NULL)) == 0 &&
	    (r = dsb_repo_remove_slot(repo, old)) == 0 && !c->quiet)
		printf("password changed (slot %.16s replaced)\n", old);
	dsb_secret_free(pw, len);
	return r;
}

static int key_generate(struct cli *c)
{
	struct dsb_identity *id = NULL;
	char rcpt[DSB_RECIPIENT_LEN];
	int r;

	if (c->nidentity_files != 1)
		return cli_usage_error(c, "key generate needs exactly one --identity FILE to create");
	if ((r = dsb_identity_generate(&id)) == 0 &&
	    (r = dsb_identity_save(id, c->identity_files[0])) == 0) {
		dsb_identity_recipient(id, rcpt);
		if (c->json)
			cli_print_json(json_pack("{s:s, s:s}", "identity", c->identity_files[0],
			    "recipient", rcpt));
		else
			printf("%s\n", rcpt);
	}
	dsb_identity_free(id);
	return r;
}

static int key_escrow(struct cli *c, struct dsb_repo *repo, const struct key_args *a)
{
	char (*rcpts)[DSB_RECIPIENT_LEN];
	const char *ptrs[255];
	size_t i;
	int r = 0;

	if (a->threshold == 0 || a->nrecipients == 0)
		return cli_usage_error(c, "key escrow needs --threshold K and at least one --recipient");
	if (a->threshold > a->nrecipients)
		return cli_usage_error(c, "--threshold %u is more than the %zu recipients", a->threshold,
		    a->nrecipients);
	if ((rcpts = calloc(a->nrecipients, DSB_RECIPIENT_LEN)) == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	for (i = 0; i < a->nrecipients && r == 0; i++) {
		r = resolve_recipient(a->recipients[i], rcpts[i]);
		ptrs[i] = rcpts[i];
	}
	if (r == 0 && (r = dsb_repo_add_escrow(repo, a->threshold, ptrs, a->nrecipients)) == 0 &&
	    !c->quiet)
		printf("escrowed the repository key: any %u of %zu shares open it\n", a->threshold,
		    a->nrecipients);
	free(rcpts);
	return r;
}

static int write_private(const char *path, const void *p, size_t n)
{
	int fd, r;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
		return dsb_error_errno(errno == EEXIST ? DSB_ERR_EXISTS : DSB_ERR_IO, errno,
		    "creating %s", path);
	r = dsb_write_all(fd, p, n, path);
	close(fd);
	return r;
}

/* an officer decrypts the share wrapped to their identity, without opening the repository */
static int key_share(struct cli *c, const struct key_args *a)
{
	struct dsb_identity *id = NULL;
	struct dsb_share *sh = NULL;
	struct dsb_repo *repo = NULL;
	struct dsb_buf text;
	int r;

	dsb_buf_init(&text, 0);
	if (c->nidentity_files != 1 || a->out == NULL)
		return cli_usage_error(c, "key share needs one --identity FILE and --out FILE");
	if (cli_repo(c) == NULL)
		return DSB_ERR_USAGE;
	if ((r = dsb_identity_load(c->identity_files[0], &id)) != 0)
		goto out;
	if ((r = dsb_repo_open_public(c->repo, &repo)) != 0 ||
	    (r = dsb_repo_share_for(repo, id, &sh)) != 0)
		goto out;
	if ((r = dsb_share_export(sh, &text)) == 0 && (r = write_private(a->out, text.data, text.len)) == 0 &&
	    !c->quiet)
		printf("wrote your escrow share to %s (keep it secret; %s)\n", a->out,
		    "give it to whoever combines the shares");
out:
	dsb_buf_release_secret(&text);
	dsb_share_free(sh);
	dsb_identity_free(id);
	dsb_repo_close(repo);
	return r;
}

static int key_recover(struct cli *c, struct dsb_repo *repo, const struct key_args *a)
{
	char *pw = NULL;
	size_t len = 0;
	int r;

	if (a->new_password_file == NULL && !isatty(0)) {
		if (!c->quiet)
			printf("the escrow shares open the repository\n");
		return 0;
	}
	if ((r = new_password(c, a, &pw, &len)) == 0 &&
	    (r = dsb_repo_add_passphrase_slot(repo, pw, len, NULL)) == 0 && !c->quiet)
		printf("recovered: the shares opened the repository and a new passphrase slot was added\n");
	dsb_secret_free(pw, len);
	return r;
}

static int key_rotate(struct cli *c, const struct key_args *a)
{
	struct dsb_session *s = NULL;
	struct dsb_rekey_stats st;
	int r, wait = a->lock_wait_sec;

	if (wait == 0 && (r = cli_lock_wait(c, NULL, &wait)) != 0)
		return r;
	if ((r = cli_open(c, &s)) != 0)
		return r;
	r = dsb_key_rotate(s, c->password, c->passlen, a->rewrite, wait, &st);
	if (r == 0 && c->json) {
		cli_print_json(json_pack("{s:s, s:b, s:I, s:I, s:i}", "message_type", "key_rotate",
		    "rewrite", a->rewrite, "packs_repacked", (json_int_t)st.prune.packs_repacked,
		    "snapshots_rewritten", (json_int_t)st.snapshots_rewritten,
		    "stale_slots", st.stale_slots));
	} else if (r == 0 && !c->quiet) {
		printf("rotated: new data is written under a new key\n");
		if (a->rewrite)
			printf("rewrote %llu pack(s) and %llu snapshot(s); older keys dropped\n",
			    (unsigned long long)st.prune.packs_repacked,
			    (unsigned long long)st.snapshots_rewritten);
		if (st.stale_slots > 0)
			printf("%d other passphrase slot(s) were not wrapped again (their passphrase "
			    "is unknown here); %s\n", st.stale_slots, a->rewrite ?
			    "they no longer open the repository: remove them (key remove)" :
			    "they still open the repository through the keyring");
	}
	dsb_session_close(s);
	return r;
}

int cmd_key(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "new-password-file", required_argument, NULL, 0x2001 },
		{ "recipient", required_argument, NULL, 0x2002 },
		{ "threshold", required_argument, NULL, 0x2003 },
		{ "out", required_argument, NULL, 'o' },
		{ "write-only", no_argument, NULL, 0x2004 },
		{ "rewrite", no_argument, NULL, 0x2005 },
		{ "retry-lock", required_argument, NULL, 0x2f01 },
		CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 }
	};
	struct key_args a;
	struct dsb_repo *repo = NULL;
	const char *sub;
	int r;

	memset(&a, 0, sizeof(a));
	if ((r = cli_parse(c, argc, argv, "r:qvho:", longopts, key_option, &a)) != 0)
		return r == 1 ? 0 : r;
	if (optind >= argc)
		return cli_usage_error(c, "key needs a subcommand");
	sub = argv[optind];
	if (optind + 1 != argc && strcmp(sub, "remove") != 0)
		return cli_usage_error(c, "key %s takes no further arguments", sub);
	if (strcmp(sub, "generate") == 0)
		return key_generate(c);
	if (strcmp(sub, "share") == 0)
		return key_share(c, &a);
	if (strcmp(sub, "rotate") == 0)
		return key_rotate(c, &a);
	if (strcmp(sub, "list") != 0 && strcmp(sub, "add") != 0 && strcmp(sub, "remove") != 0 &&
	    strcmp(sub, "passwd") != 0 && strcmp(sub, "escrow") != 0 && strcmp(sub, "recover") != 0)
		return cli_usage_error(c, "unknown key subcommand \"%s\"", sub);
	if (strcmp(sub, "remove") == 0 && optind + 2 != argc)
		return cli_usage_error(c, "key remove needs one slot ID");
	if ((r = cli_open_repo(c, &repo)) != 0)
		return r;
	if (strcmp(sub, "list") == 0)
		r = key_list(c, repo);
	else if (strcmp(sub, "add") == 0)
		r = key_add(c, repo, &a);
	else if (strcmp(sub, "remove") == 0)
		r = dsb_repo_remove_slot(repo, argv[optind + 1]);
	else if (strcmp(sub, "passwd") == 0)
		r = key_passwd(c, repo, &a);
	else if (strcmp(sub, "escrow") == 0)
		r = key_escrow(c, repo, &a);
	else
		r = key_recover(c, repo, &a);
	if (r == 0 && strcmp(sub, "remove") == 0 && !c->quiet)
		printf("removed key slot %s\n", argv[optind + 1]);
	dsb_repo_close(repo);
	return r;
}
