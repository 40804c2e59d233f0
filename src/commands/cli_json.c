/* cli_json.c: JSON output helpers shared by the commands. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "dsbackup/buf.h"
#include "dsbackup/error.h"
#include "dsbackup/util.h"

int cli_json_set_path(struct json_t *o, const char *key, const char *path)
{
	char b64key[64];
	struct dsb_buf b;
	json_t *p;
	int r = 0;

	if ((p = json_string(path)) != NULL)
		return json_object_set_new(o, key, p) == 0 ? 0 :
		    dsb_error(DSB_ERR_NOMEM, "out of memory printing %s", path);
	/* not UTF-8: as names are in trees (FORMAT.md section 9) */
	snprintf(b64key, sizeof(b64key), "%s_b64", key);
	dsb_buf_init(&b, 0);
	if ((r = dsb_base64_encode(path, strlen(path), &b)) == 0 &&
	    json_object_set_new(o, b64key, json_string((const char *)b.data)) != 0)
		r = dsb_error(DSB_ERR_NOMEM, "out of memory printing %s", path);
	dsb_buf_release(&b);
	return r;
}

void cli_print_json_with_path(struct json_t *o, const char *path)
{
	if (o != NULL && cli_json_set_path(o, "path", path) == 0) {
		cli_print_json(o);
		return;
	}
	json_decref(o);
}
