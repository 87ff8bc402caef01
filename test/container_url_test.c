/*
 * container_url_test.c - unit test of the container-credentials URL check.
 * Parsing only: no URL here is ever requested.
 */
#include <stdio.h>

#include "container_url.h"

static int	passed = 0;
static int	failed = 0;

static void
expect(const char *url, bool allowed)
{
	if (container_url_is_allowed(url) == allowed)
	{
		passed++;
		printf("ok   %s %s\n", allowed ? "allows" : "refuses", url);
	}
	else
	{
		failed++;
		printf("FAIL %s: expected %s\n", url, allowed ? "allowed" : "refused");
	}
}

int
main(void)
{
	/* loopback and the ECS/EKS hosts over http, anything over https */
	expect("http://127.0.0.1:8080/creds", true);
	expect("http://127.1.2.3/creds", true);
	expect("http://localhost/creds", true);
	expect("http://LOCALHOST:80/creds", true);
	expect("http://[::1]:9/creds", true);
	expect("http://169.254.170.2/v2/credentials/abc", true);
	expect("http://169.254.170.23/v1/credentials", true);
	expect("http://[fd00:ec2::23]/v1/credentials", true);
	expect("https://creds.example.com/x", true);

	/* the prefix bypasses: user information hides the real host */
	expect("http://127.0.0.1@evil.example/", false);
	expect("http://169.254.170.2:80@evil.example/", false);
	expect("http://[::1]@evil.example/", false);
	expect("http://localhost:@evil.example/", false);
	expect("http://127.evil.example/", false);
	expect("http://localhost.evil.example/", false);
	expect("https://user:secret@creds.example.com/", false);

	/* other hosts, schemes and garbage */
	expect("http://evil.example/creds", false);
	expect("http://169.254.170.22/", false);
	expect("http://169.254.169.254/latest/", false);
	expect("http://[fe80::1%25eth0]/", false);
	expect("ftp://127.0.0.1/creds", false);
	expect("file:///etc/passwd", false);
	expect("not a url", false);
	expect("http://169.254.170.2/v2/credentials/bearer-key-5f2a with space", false);
	expect("", false);

	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
