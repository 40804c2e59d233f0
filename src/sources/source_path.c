/* source_path.c: "path:/dir", a plain directory tree or file. */
#include "dsbackup/error.h"
#include "dsbackup/source.h"

static int path_open(struct dsb_source *src, const char *arg)
{
	if (arg[0] == '\0')
		return dsb_error(DSB_ERR_USAGE, "source \"%s\" names no path", src->spec);
	return dsb_source_add_path(src, arg);
}

const struct dsb_source_ops dsb_source_path = {
	.kind = "path",
	.prefix = "path:",
	.open = path_open,
};
