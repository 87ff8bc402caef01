/*
 * aws_profile.h - the AWS shared credentials and config files.
 *
 * Reads a profile the way the AWS CLI and SDKs do: the credentials file
 * (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials) with sections
 * "[name]", then the config file (AWS_CONFIG_FILE, default ~/.aws/config)
 * with "[profile name]" or "[default]"; keys in the credentials file win.
 * A property with an empty value opens sub-properties on the indented
 * lines below it: they belong to it, never to the profile ("s3 =" then
 * "  endpoint_url = ..." is S3's endpoint).  The profile's "services"
 * names a "[services name]" section of the config file, whose "dynamodb ="
 * sub-properties may give DynamoDB's endpoint_url.
 */
#ifndef DYNAMO_ATOMIC_AWS_PROFILE_H
#define DYNAMO_ATOMIC_AWS_PROFILE_H

typedef struct AwsProfile
{
	bool		found;			/* the profile exists in either file */
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;
	char	   *region;
	/* web identity: the role, the token's file and the session's name (any may be NULL) */
	char	   *role_arn;
	char	   *web_identity_token_file;
	char	   *role_session_name;
	/* an assumed role: whose credentials sign AssumeRole, and its options */
	char	   *source_profile;
	char	   *credential_source;	/* Environment, Ec2InstanceMetadata or EcsContainer */
	char	   *external_id;
	char	   *duration_seconds;
	char	   *credential_process;	/* a command printing credentials as JSON */
	/* endpoints: the profile's endpoint_url, and its services section's dynamodb endpoint_url */
	char	   *endpoint_url;
	char	   *services;
	char	   *dynamodb_endpoint_url;
	char	   *ignore_configured_endpoint_urls;
	const char *unsupported;	/* a setting naming a credential provider
								 * dynamo_atomic does not implement */
} AwsProfile;

extern char *aws_credentials_file_path(void);
extern char *aws_config_file_path(void);

/*
 * The profile to use: dynamo_atomic.profile, then AWS_PROFILE, then
 * "default".  *is_explicit tells whether one was named (then a missing
 * profile is an error rather than a step on to the next provider).
 */
extern const char *aws_profile_name(bool *is_explicit);

/* Loads name from both files into *out, palloc'd in CurrentMemoryContext. */
extern void aws_profile_load(const char *name, AwsProfile *out);

/* Wipes and frees the secrets in *profile. */
extern void aws_profile_wipe(AwsProfile *profile);

#endif
