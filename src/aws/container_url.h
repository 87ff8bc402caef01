/*
 * container_url.h - which container-credentials URLs may be asked for
 * credentials (plain C: no PostgreSQL, so a unit test can reach it).
 *
 * The endpoint receives the container authorization token and its answer
 * is trusted as credentials, so, as in the AWS SDKs: https to any host;
 * plain http only to a loopback address (127.0.0.0/8, ::1, localhost) or
 * the ECS/EKS link-local hosts (169.254.170.2, 169.254.170.23,
 * fd00:ec2::23); never with user information in the URL.  Hosts are
 * compared after parsing, never as string prefixes.
 */
#ifndef DYNAMO_ATOMIC_CONTAINER_URL_H
#define DYNAMO_ATOMIC_CONTAINER_URL_H

#include <stdbool.h>

extern bool container_url_is_allowed(const char *url);

#endif
