/*
 * fuzz_tree.c: tree blobs (docs/FORMAT.md §9).  Whatever decodes must
 * encode, decode again to the same names, and encode to the same bytes
 * (the first encoding is canonical); every name must be safe and findable.
 */
#include <string.h>

#include "dsbackup/error.h"
#include "dsbackup/tree.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dsb_tree t, t2;
	struct dsb_buf enc, enc2;
	size_t i;

	dsb_tree_init(&t);
	dsb_tree_init(&t2);
	if (dsb_tree_decode(data, size, &t) != 0) {
		FUZZ_CHECK(t.n == 0 && t.nodes == NULL);
		return 0;
	}
	for (i = 0; i < t.n; i++) {
		FUZZ_CHECK(dsb_node_name_ok(t.nodes[i].name));
		FUZZ_CHECK(i == 0 || strcmp(t.nodes[i - 1].name, t.nodes[i].name) < 0);
		FUZZ_CHECK(dsb_tree_find(&t, t.nodes[i].name) == &t.nodes[i]);
		FUZZ_CHECK(t.nodes[i].type != DSB_NODE_DIR || t.nodes[i].has_subtree);
		FUZZ_CHECK(t.nodes[i].mode <= 07777);
	}
	dsb_buf_init(&enc, 0);
	dsb_buf_init(&enc2, 0);
	FUZZ_CHECK(dsb_tree_encode(&t, &enc) == 0);
	FUZZ_CHECK(dsb_tree_decode(enc.data, enc.len, &t2) == 0);
	FUZZ_CHECK(t2.n == t.n);
	for (i = 0; i < t.n; i++) {
		FUZZ_CHECK(strcmp(t.nodes[i].name, t2.nodes[i].name) == 0);
		FUZZ_CHECK(t.nodes[i].type == t2.nodes[i].type);
		FUZZ_CHECK(t.nodes[i].ncontent == t2.nodes[i].ncontent);
		FUZZ_CHECK(t.nodes[i].nxattrs == t2.nodes[i].nxattrs);
	}
	FUZZ_CHECK(dsb_tree_encode(&t2, &enc2) == 0);
	FUZZ_CHECK(enc.len == enc2.len && memcmp(enc.data, enc2.data, enc.len) == 0);
	dsb_buf_release(&enc);
	dsb_buf_release(&enc2);
	dsb_tree_release(&t);
	dsb_tree_release(&t2);
	return 0;
}
