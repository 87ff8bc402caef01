// fake_aws.js - a stand-in for the AWS endpoints DynamoDB Local does not
// cover, on 127.0.0.1 only:
//   - container credentials   GET  /creds        (checks the Authorization token)
//   - EC2 instance metadata   PUT  /latest/api/token, then
//                             GET  /latest/meta-data/iam/security-credentials/[role]
//                             (IMDSv2: every GET must carry the session token)
//   - a DynamoDB front        POST /             forwards to DynamoDB Local, or
//                             injects faults set through /_control
//   - request log             GET  /_log         what it received, as JSON lines
//
// Usage: node fake_aws.js PORTFILE DYNAMODB_URL
// Writes its port to PORTFILE once listening; exits by itself after 300 s.
'use strict';
const http = require('http');
const fs = require('fs');

const [portFile, dynamodbUrl] = process.argv.slice(2);
const CONTAINER_TOKEN = 'container-auth-token-for-tests';
const IMDS_TOKEN = 'imds-session-token-for-tests';
const ROLE = 'dynamo-atomic-test-role';
const LIFETIME_MS = 300 * 1000;

const log = [];
// fault: {kind, remaining}; kinds: throttle, server-error, reject-credentials, garbage
let fault = null;

function credentials(prefix) {
  return {
    Code: 'Success',
    AccessKeyId: prefix + 'ACCESSKEY',
    SecretAccessKey: prefix + '-secret-never-print-me',
    Token: prefix + '-session-token-never-print-me',
    Expiration: new Date(Date.now() + 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
  };
}

function send(res, status, body, type) {
  res.writeHead(status, { 'Content-Type': type || 'application/json', 'x-amzn-RequestId': 'fake-' + log.length });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function awsError(res, status, type, message) {
  send(res, status, { __type: 'com.amazonaws.dynamodb.v20120810#' + type, message }, 'application/x-amz-json-1.0');
}

function forward(req, body, res) {
  const target = new URL(dynamodbUrl);
  const headers = Object.assign({}, req.headers, { host: target.host });
  const out = http.request({ host: target.hostname, port: target.port, method: 'POST', path: '/', headers }, (up) => {
    res.writeHead(up.statusCode, up.headers);
    up.pipe(res);
  });
  out.on('error', (e) => send(res, 502, { message: String(e) }));
  out.end(body);
}

function dynamodb(req, body, res) {
  if (fault && fault.remaining !== 0) {
    if (fault.remaining > 0) fault.remaining--;
    switch (fault.kind) {
      case 'throttle':
        return awsError(res, 400, 'ThrottlingException', 'Rate of requests exceeds the allowed throughput.');
      case 'server-error':
        return awsError(res, 500, 'InternalServerError', 'Internal server error');
      case 'reject-credentials':
        // Real AWS messages can echo request parts; echo the secrets to prove redaction.
        return awsError(res, 400, 'UnrecognizedClientException',
          'The security token included in the request is invalid: ' + (req.headers['x-amz-security-token'] || '') +
          ' ' + (req.headers['x-test-echo'] || ''));
      case 'garbage':
        return send(res, 200, 'this is not json', 'application/x-amz-json-1.0');
    }
  }
  return forward(req, body, res);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, 'http://127.0.0.1');
    log.push({ method: req.method, path: url.pathname, headers: req.headers });

    if (url.pathname === '/_log') return send(res, 200, log.map((e) => JSON.stringify(e)).join('\n'), 'text/plain');
    if (url.pathname === '/_control') {
      const kind = url.searchParams.get('fault');
      fault = kind ? { kind, remaining: Number(url.searchParams.get('count') || -1) } : null;
      log.length = 0;
      return send(res, 200, { ok: true });
    }
    if (req.method === 'POST' && url.pathname === '/') return dynamodb(req, body, res);

    if (req.method === 'GET' && url.pathname === '/creds') {
      if (req.headers.authorization !== CONTAINER_TOKEN) return send(res, 401, { message: 'bad token' });
      return send(res, 200, credentials('CONTAINER'));
    }
    if (req.method === 'PUT' && url.pathname === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return send(res, 400, 'missing ttl', 'text/plain');
      return send(res, 200, IMDS_TOKEN, 'text/plain');
    }
    if (url.pathname.startsWith('/latest/meta-data/iam/security-credentials/')) {
      if (req.headers['x-aws-ec2-metadata-token'] !== IMDS_TOKEN) return send(res, 401, 'IMDSv2 token required', 'text/plain');
      const role = url.pathname.slice('/latest/meta-data/iam/security-credentials/'.length);
      if (role === '') return send(res, 200, ROLE + '\n', 'text/plain');
      if (role === ROLE) return send(res, 200, credentials('INSTANCE'));
      return send(res, 404, 'no such role', 'text/plain');
    }
    send(res, 404, { message: 'not found' });
  });
});

server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(server.address().port) + '\n');
  fs.renameSync(portFile + '.tmp', portFile);
});
setTimeout(() => process.exit(0), LIFETIME_MS).unref();
