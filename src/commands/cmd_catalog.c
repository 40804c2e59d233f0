/* cmd_catalog.c: dsbackup catalog rebuild */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "dsbackup/error.h"

int cmd_catalog(struct cli *c, int argc, char **argv)
{
	static const struct option longopts[] = { CLI_GLOBAL_LONGOPTS, { 0, 0, 0, 0 } };
	struct dsb_session *s = NULL;
	uint64_t packs = 0, blobs = 0;
	int r;

	if ((r = cli_parse(c, argc, argv, "r:qvh", longopts, NULL, NULL)) != 0)
		return r == 1 ? 0 : r;
	if (optind + 1 != argc || strcmp(argv[optind], "rebuild") != 0)
		return cli_usage_error(c, "the catalog command is \"catalog rebuild\"");
	if ((r = cli_open(c, &s)) != 0)
		return r;
	if ((r = dsb_catalog_rebuild(s)) == 0 && (r = dsb_catalog_count(s->cat, &packs, &blobs)) == 0 &&
	    !c->quiet)
		printf("catalog %s rebuilt: %llu packs, %llu blobs\n", s->catalog_path,
		    (unsigned long long)packs, (unsigned long long)blobs);
	dsb_session_close(s);
	return r;
}
