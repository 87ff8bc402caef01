/*
 * fuzz_container_url.c - libFuzzer harness for the check of container
 * credentials URLs (which hosts may receive the authorization token).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "container_url.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *url = malloc(size + 1);

	if (url == NULL)
		return 0;
	memcpy(url, data, size);
	url[size] = '\0';
	(void) container_url_is_allowed(url);
	free(url);
	return 0;
}
