/*
 * job_webhook.c: POST the run report as JSON with libcurl.  Certificates
 * and host names are verified (libcurl's defaults, never turned off);
 * only http and https, no redirects; 10 s to connect, 30 s in all.
 */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "dsbackup/error.h"
#include "jobs_internal.h"

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

int job_notify(const char *url, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct curl_slist *headers = NULL, *h;
	CURL *curl = NULL;
	CURLcode rc;
	long status = 0;
	int r;

	if (text == NULL)
		return dsb_error(DSB_ERR_NOMEM, "out of memory");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(text);
		return dsb_error(DSB_ERR_BACKEND, "libcurl could not be initialised");
	}
	if ((curl = curl_easy_init()) == NULL ||
	    (h = curl_slist_append(headers, "Content-Type: application/json")) == NULL) {
		r = dsb_error(DSB_ERR_NOMEM, "out of memory");
		goto out;
	}
	headers = h;
	if ((rc = curl_easy_setopt(curl, CURLOPT_URL, url)) != CURLE_OK ||
	    (rc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https")) != CURLE_OK ||
	    (rc = curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers)) != CURLE_OK ||
	    (rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, text)) != CURLE_OK ||
	    (rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text))) != CURLE_OK ||
	    (rc = curl_easy_setopt(curl, CURLOPT_USERAGENT, "dsbackup/" DSB_VERSION)) != CURLE_OK ||
	    (rc = curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard)) != CURLE_OK) {
		r = dsb_error(DSB_ERR_BACKEND, "webhook: %s", curl_easy_strerror(rc));
		goto out;
	}
	if ((rc = curl_easy_perform(curl)) != CURLE_OK) {
		r = dsb_error(DSB_ERR_BACKEND, "POST to the webhook: %s", curl_easy_strerror(rc));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		r = dsb_error(DSB_ERR_BACKEND, "the webhook answered HTTP %ld", status);
		goto out;
	}
	r = 0;
out:
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	free(text);
	return r;
}
