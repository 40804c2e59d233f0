/* cmd_version.c: dsbackup version */
#include <stdio.h>

#include <archive.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <zstd.h>

#include "commands.h"

int cmd_version(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = { CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 } };
	int r;

	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, NULL, NULL)) != 0)
		return r == 1 ? 0 : r;
	if (c->json) {
		cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s}", "version", DSB_VERSION,
		    "libarchive", archive_version_string(), "zstd", ZSTD_versionString(),
		    "openssl", OpenSSL_version(OPENSSL_VERSION), "sqlite", sqlite3_libversion()));
		return 0;
	}
	printf("dsbackup %s (%s, zstd %s, %s, sqlite %s)\n", DSB_VERSION, archive_version_string(),
	    ZSTD_versionString(), OpenSSL_version(OPENSSL_VERSION), sqlite3_libversion());
	return 0;
}
