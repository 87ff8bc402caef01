// fake_aws.js - a stand-in for the AWS endpoints DynamoDB Local does not
// cover, on 127.0.0.1 only:
//   - container credentials   GET  /creds        (checks the Authorization token;
//                                                 ?offset_minutes=N: Expiration in that zone)
//   - EC2 instance metadata   PUT  /latest/api/token, then
//                             GET  /latest/meta-data/iam/security-credentials/[role]
//                             (IMDSv2: every GET must carry the session token)
//   - a DynamoDB front        POST /             forwards to DynamoDB Local, or
//                             injects faults set through /_control
//   - request log             GET  /_log         what it received (at: epoch ms), as JSON lines
//   - STS                     POST /sts          AssumeRoleWithWebIdentity (form body, unsigned):
//                             answered in JSON (Expiration in epoch seconds, or ISO 8601 with
//                             sts_iso=1), errors in XML as STS writes them.  With
//                             sts_token_file=PATH the token must be that file's content at the
//                             time of the request (InvalidIdentityToken otherwise); credentials
//                             last sts_duration_s seconds (default 3600).  With require_sts=1 the
//                             DynamoDB front accepts only requests signed with an access key STS
//                             issued and carrying its session token (UnrecognizedClientException
//                             otherwise; ExpiredTokenException once they have expired).
//                             GET /_sts: {calls (credentials issued), requests (every STS request),
//                             assumed, issued, expiredUses}.  These settings hold until
//                             sts_reset=1.  STS faults are rules whose target is the Action:
//                             throttle, server-error, idp-error, invalid-token, delay.
//                             AssumeRole too: its SigV4 signature is checked (service sts)
//                             against a key registered with sts_source=AKID:SECRET or one STS
//                             issued (with its session token); sts_external_id=X requires it.
//   - a refusing proxy        CONNECT host:port  answered 403, never connected; GET /_connects lists
//                             the hosts asked for, so that a test sees where a request would
//                             have gone (the default AWS endpoint) without it leaving 127.0.0.1
//
// Faults: GET /_control?fault=KIND[&count=N][&target=OP][&match=TEXT][&add=1]
// sets one rule (add=1: appends one); a rule applies to the next N requests
// (default: all) whose X-Amz-Target ends in OP and whose body contains TEXT.
// No fault clears the rules and the log.  ratio=R (0..1): the rule applies to
// that share of its matching requests, drawn from a PRNG that seed=N resets
// (a soak's schedule replays from its seed).  log=0 / log=1: stop / resume
// logging requests (a long soak would fill memory).  GET /_stats: how many
// faults of each kind were injected since the start (reset=1 zeroes them).
// Kinds:
//   throttle, server-error, reject-credentials, access-denied, garbage, in-use,
//   deleting, validation   answered by the front; DynamoDB Local never sees them
//   drop-answer     forwarded and applied, then the connection is closed unanswered
//   apply-then-500  forwarded and applied, then answered 500 InternalServerError
//   apply-then-hang forwarded and applied, then never answered
//   apply-then-500-echo  as apply-then-500, its message echoing the session token
//   drop-request    not forwarded: the connection is closed unanswered, so the
//                   client cannot tell it from a lost answer
//   delay           forwarded after ms=N milliseconds (default 3000)
//   answer-late     forwarded and applied at once, answered ms=N milliseconds later
//   cancelled       TransactionCanceledException with reasons=R1,R2 (one per action)
//   conflict        TransactionConflictException (a plain write meeting a transaction)
//   in-progress     TransactionInProgressException (a sending with the same token
//                   is still being committed); DynamoDB Local never sees it
//   nul-answer      answered 200 by the front with an item whose string holds a
//                   raw NUL byte (0x00), as no JSON encoder writes it
//   unprocessed     BatchWriteItem/BatchGetItem: the first half is forwarded,
//                   the second half comes back as UnprocessedItems/Keys
//   global          DescribeTable: forwarded, and the answer made a global table's
//                   (DynamoDB Local has none): mode=mrec (MultiRegionConsistency
//                   EVENTUAL), mrec-implicit (replicas, no MultiRegionConsistency),
//                   mrsc (STRONG, with a witness), legacy-stream (no replicas, a
//                   NEW_AND_OLD_IMAGES stream, as a 2017.11.29 global table has),
//                   malformed (Replicas an object, not a list);
//                   regions=R1,R2 the replicas (default us-east-1,eu-west-1)
//   legacy-global   DescribeGlobalTable: answered as a 2017.11.29 global table
//                   (without a rule the front answers GlobalTableNotFoundException)
//   replicated-conflict  ReplicatedWriteConflictException (an MRSC item being
//                   written in another region); not forwarded
//   throttle with reasons=R1[,R2]: ProvisionedThroughputExceededException
//                   carrying ThrottlingReasons (reason R, resource the table's ARN),
//                   as DynamoDB answers since 2025
//
// A per-item write limit: GET /_control?item_limit=N (0: none) gives every item
// a token bucket of N writes per second (holding at most N): an UpdateItem,
// PutItem or DeleteItem beyond it is answered 400 ProvisionedThroughputExceededException
// with the reason TableWriteKeyRangeThroughputExceeded, not forwarded, as a
// real partition caps one item near 1,000 writes/s.  It holds until
// item_limit=0; GET /_items: {limited (requests refused), writes (allowed)}.
//
// Usage: node fake_aws.js PORTFILE DYNAMODB_URL [TLS_CERT TLS_KEY]
// With a certificate and key it serves https (for certificate failures).
// Writes its port to PORTFILE once listening; exits by itself after 300 s
// (FAKE_AWS_LIFETIME_S seconds if set), so a stray one cannot linger.
'use strict';
const http = require('http');
const https = require('https');
const fs = require('fs');

const [portFile, dynamodbUrl, tlsCert, tlsKey] = process.argv.slice(2);
const CONTAINER_TOKEN = 'container-auth-token-for-tests';
const IMDS_TOKEN = 'imds-session-token-for-tests';
const ROLE = 'dynamo-atomic-test-role';
const LIFETIME_MS = Number(process.env.FAKE_AWS_LIFETIME_S || 300) * 1000;

const log = [];
let logging = true;
// rules: [{kind, remaining, target, match, ratio}], first match wins
let rules = [];
// faults injected, by kind
let injected = {};

// STS's state (see the head of this file)
let sts = { tokenFile: null, durationS: 3600, iso: false, requireIssued: false, calls: 0, issued: {}, secrets: {},
  sources: {}, externalId: null, assumed: 0, expires: {}, expiredUses: 0 };
const crypto = require('crypto');

function stsError(res, status, code, message) {
  res.writeHead(status, { 'Content-Type': 'text/xml' });
  res.end('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>' + code +
    '</Code><Message>' + message + '</Message></Error><RequestId>fake-sts</RequestId></ErrorResponse>');
}

function stsIssue(res, action) {
  sts.calls++;
  if (action === 'AssumeRole') sts.assumed++;
  const n = Object.keys(sts.issued).length + 1;
  const key = 'ASIASTSFAKE' + String(n).padStart(6, '0');
  const token = 'sts-session-token-' + n + '-' + Math.random().toString(36).slice(2);
  const secret = 'sts-secret-' + n + '-never-print-me';
  sts.issued[key] = token;
  sts.secrets[key] = secret;
  const expires = Date.now() + sts.durationS * 1000;
  sts.expires[key] = expires;
  const expiration = sts.iso ? new Date(expires).toISOString() : Math.floor(expires / 1000);
  send(res, 200, { [action + 'Response']: { [action + 'Result']: {
    Credentials: { AccessKeyId: key, SecretAccessKey: secret, SessionToken: token, Expiration: expiration },
    AssumedRoleUser: { Arn: 'arn:aws:sts::123456789012:assumed-role/fake/session', AssumedRoleId: 'AROAFAKE:session' },
  }, ResponseMetadata: { RequestId: 'fake-sts-' + sts.calls } } });
}

// The SigV4 check of a signed STS request: null when it is signed by a known
// source key (a registered one, or one STS issued with its session token), else why not.
function stsSignatureProblem(req, body) {
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/sts\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/
    .exec(req.headers.authorization || '');
  if (!m) return 'not signed with SigV4 for sts';
  const [, key, date, region, signedHeaders, signature] = m;
  const secret = sts.sources[key] || sts.secrets[key];
  if (!secret) return 'signed by an unknown access key ' + key;
  if (sts.secrets[key] && req.headers['x-amz-security-token'] !== sts.issued[key]) return 'the session token is not the one issued with ' + key;
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return 'host and x-amz-date must be signed';
  const canonical = ['POST', new URL(req.url, 'http://x').pathname, '',
    names.map((h) => h + ':' + String(req.headers[h] || '').trim().replace(/\s+/g, ' ')).join('\n') + '\n',
    signedHeaders, crypto.createHash('sha256').update(body).digest('hex')].join('\n');
  const amzDate = req.headers['x-amz-date'] || '';
  const scope = date + '/' + region + '/sts/aws4_request';
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, crypto.createHash('sha256').update(canonical).digest('hex')].join('\n');
  let k = crypto.createHmac('sha256', 'AWS4' + secret).update(date).digest();
  for (const part of [region, 'sts', 'aws4_request']) k = crypto.createHmac('sha256', k).update(part).digest();
  const want = crypto.createHmac('sha256', k).update(toSign).digest('hex');
  return want === signature ? null : 'the signature does not match';
}

function stsRequest(req, body, res) {
  sts.requests = (sts.requests || 0) + 1;
  const form = new URLSearchParams(body.toString());
  const action = form.get('Action');
  if (action !== 'AssumeRoleWithWebIdentity' && action !== 'AssumeRole') return stsError(res, 400, 'InvalidAction', 'not served here: ' + action);
  if (!form.get('RoleArn') || !form.get('RoleSessionName') || (action !== 'AssumeRole' && !form.get('WebIdentityToken'))) {
    return stsError(res, 400, 'MissingParameter', 'RoleArn, RoleSessionName and WebIdentityToken are required');
  }
  if (action === 'AssumeRoleWithWebIdentity' && req.headers.authorization) {
    return stsError(res, 400, 'InvalidRequest', 'AssumeRoleWithWebIdentity is not signed');
  }
  if (action === 'AssumeRole') {
    const problem = stsSignatureProblem(req, body);
    if (problem) return stsError(res, 403, 'SignatureDoesNotMatch', problem);
    if (sts.externalId && form.get('ExternalId') !== sts.externalId) return stsError(res, 403, 'AccessDenied', 'the external ID does not match');
  }
  let rule = null;
  for (const r of rules) {
    if (r.remaining === 0 || (r.target && r.target !== action)) continue;
    if (r.remaining > 0) r.remaining--;
    injected[r.kind] = (injected[r.kind] || 0) + 1;
    rule = r;
    break;
  }
  const answer = () => {
    if (sts.tokenFile && action === 'AssumeRoleWithWebIdentity') {
      const want = fs.readFileSync(sts.tokenFile, 'utf8').trim();
      if (form.get('WebIdentityToken') !== want) {
        return stsError(res, 400, 'InvalidIdentityToken', 'the token is not the current content of the token file');
      }
    }
    stsIssue(res, action);
  };
  if (!rule) return answer();
  switch (rule.kind) {
    case 'throttle': return stsError(res, 400, 'Throttling', 'Rate exceeded');
    case 'server-error': return stsError(res, 500, 'InternalFailure', 'internal failure');
    case 'idp-error': return stsError(res, 400, 'IDPCommunicationError', 'the identity provider could not be reached');
    case 'invalid-token': return stsError(res, 400, 'InvalidIdentityToken', 'token rejected');
    case 'delay': return setTimeout(answer, rule.ms);
    default: return answer();
  }
}

// With require_sts=1: only requests signed with a key STS issued, carrying its token.
function stsCredentialsOk(req) {
  const m = /Credential=([A-Z0-9]+)\//.exec(req.headers.authorization || '');
  return m && sts.issued[m[1]] !== undefined && req.headers['x-amz-security-token'] === sts.issued[m[1]];
}

// mulberry32: a small seeded PRNG, so that a seed replays the same draws
let prngState = 1;
function random() {
  prngState = (prngState + 0x6d2b79f5) | 0;
  let t = prngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

// Expiration an hour from now; with offsetMinutes, written in that time zone
// ("+02:00"), as some credential providers do.
function credentials(prefix, offsetMinutes) {
  const expires = Date.now() + 3600 * 1000;
  let text = new Date(expires).toISOString().replace(/\.\d+Z$/, 'Z');
  if (offsetMinutes) {
    const local = new Date(expires + offsetMinutes * 60 * 1000).toISOString().replace(/\.\d+Z$/, '');
    const sign = offsetMinutes < 0 ? '-' : '+';
    const abs = Math.abs(offsetMinutes);
    text = local + sign + String(Math.floor(abs / 60)).padStart(2, '0') + ':' + String(abs % 60).padStart(2, '0');
  }
  return {
    Code: 'Success',
    AccessKeyId: prefix + 'ACCESSKEY',
    SecretAccessKey: prefix + '-secret-never-print-me',
    Token: prefix + '-session-token-never-print-me',
    Expiration: text,
  };
}

function send(res, status, body, type) {
  res.writeHead(status, { 'Content-Type': type || 'application/json', 'x-amzn-RequestId': 'fake-' + log.length });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

function awsError(res, status, type, message, extra) {
  send(res, status, Object.assign({ __type: 'com.amazonaws.dynamodb.v20120810#' + type, message }, extra || {}),
    'application/x-amz-json-1.0');
}

function tableArn(table) {
  return 'arn:aws:dynamodb:us-east-1:000000000000:table/' + (table || 'unknown');
}

function throttled(res, table, reasons) {
  return awsError(res, 400, 'ProvisionedThroughputExceededException',
    'The level of configured provisioned throughput for the table was exceeded.',
    { ThrottlingReasons: reasons.map((reason) => ({ reason, resource: tableArn(table) })) });
}

// The per-item write limit: a token bucket per table and key.
const itemLimit = { perSecond: 0, buckets: new Map(), limited: 0, writes: 0 };
function itemWriteAllowed(target, body) {
  if (!itemLimit.perSecond || !/\.(UpdateItem|PutItem|DeleteItem)$/.test(target)) return true;
  let request;
  try { request = JSON.parse(body.toString()); } catch (e) { return true; }
  const key = request.TableName + '\u0000' + JSON.stringify(request.Key || request.Item || {});
  const now = Date.now();
  let b = itemLimit.buckets.get(key);
  if (!b) { b = { tokens: itemLimit.perSecond, at: now }; itemLimit.buckets.set(key, b); }
  b.tokens = Math.min(itemLimit.perSecond, b.tokens + (now - b.at) * itemLimit.perSecond / 1000);
  b.at = now;
  if (b.tokens < 1) { itemLimit.limited++; return false; }
  b.tokens -= 1;
  itemLimit.writes++;
  return true;
}

// Sends the request on to DynamoDB Local; then(status, headers, body).
function forward(req, body, res, then) {
  const target = new URL(dynamodbUrl);
  const headers = Object.assign({}, req.headers, { host: target.host });
  const out = http.request({ host: target.hostname, port: target.port, method: 'POST', path: '/', headers }, (up) => {
    const chunks = [];
    up.on('data', (c) => chunks.push(c));
    up.on('end', () => then(up.statusCode, up.headers, Buffer.concat(chunks)));
  });
  out.on('error', (e) => send(res, 502, { message: String(e) }));
  out.end(body);
}

function passOn(res) {
  return (status, headers, upBody) => {
    res.writeHead(status, headers);
    res.end(upBody);
  };
}

function matchingRule(req, body) {
  const target = req.headers['x-amz-target'] || '';
  for (const rule of rules) {
    if (rule.remaining === 0) continue;
    if (rule.target && !target.endsWith('.' + rule.target)) continue;
    if (rule.match && !body.includes(rule.match)) continue;
    if (rule.ratio < 1 && random() >= rule.ratio) continue;
    if (rule.remaining > 0) rule.remaining--;
    injected[rule.kind] = (injected[rule.kind] || 0) + 1;
    return rule;
  }
  return null;
}

// A batch of which DynamoDB Local sees only the first half; the rest is "unprocessed".
function halfProcessed(req, body, res) {
  const request = JSON.parse(body.toString());
  const [table] = Object.keys(request.RequestItems);
  const isWrite = (req.headers['x-amz-target'] || '').endsWith('.BatchWriteItem');
  const all = isWrite ? request.RequestItems[table] : request.RequestItems[table].Keys;
  const keep = all.slice(0, Math.ceil(all.length / 2));
  const rest = all.slice(keep.length);
  const forwarded = JSON.parse(JSON.stringify(request));
  if (isWrite) forwarded.RequestItems[table] = keep;
  else forwarded.RequestItems[table].Keys = keep;
  const out = Buffer.from(JSON.stringify(forwarded));
  const headers = Object.assign({}, req.headers, { 'content-length': String(out.length) });
  forward({ headers }, out, res, (status, upHeaders, upBody) => {
    const answer = JSON.parse(upBody.toString() || '{}');
    if (isWrite) answer.UnprocessedItems = rest.length ? { [table]: rest } : {};
    else answer.UnprocessedKeys = rest.length ? { [table]: Object.assign({}, request.RequestItems[table], { Keys: rest }) } : {};
    send(res, status, answer, 'application/x-amz-json-1.0');
  });
}

// DescribeTable's answer, as a global table in rule.mode would give it.
function asGlobalTable(rule, res) {
  return (status, headers, upBody) => {
    const answer = JSON.parse(upBody.toString() || '{}');
    const table = answer.Table;
    if (status !== 200 || !table) return passOn(res)(status, headers, upBody);
    const regions = (rule.regions || (rule.mode === 'mrsc' ? 'us-east-1,us-east-2' : 'us-east-1,eu-west-1')).split(',');
    if (rule.mode === 'malformed') {
      table.Replicas = { RegionName: 'us-east-1' };
    } else if (rule.mode === 'legacy-stream') {
      table.StreamSpecification = { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' };
      table.LatestStreamArn = table.TableArn + '/stream/2026-01-01T00:00:00.000';
    } else {
      table.GlobalTableVersion = '2019.11.21';
      table.Replicas = regions.map((RegionName) => ({ RegionName, ReplicaStatus: 'ACTIVE' }));
      if (rule.mode === 'mrec') table.MultiRegionConsistency = 'EVENTUAL';
      if (rule.mode === 'mrsc') {
        table.MultiRegionConsistency = 'STRONG';
        table.GlobalTableWitnesses = [{ RegionName: 'us-west-2', WitnessStatus: 'ACTIVE' }];
      }
    }
    send(res, 200, answer, 'application/x-amz-json-1.0');
  };
}

function dynamodb(req, body, res) {
  const rule = matchingRule(req, body);
  const target = req.headers['x-amz-target'] || '';
  if (!rule && !itemWriteAllowed(target, body)) {
    let table = null;
    try { table = JSON.parse(body.toString()).TableName; } catch (e) { /* unreadable: no table */ }
    return throttled(res, table, ['TableWriteKeyRangeThroughputExceeded']);
  }
  switch (rule && rule.kind) {
    case null:
      if (target.endsWith('.DescribeGlobalTable'))
        return awsError(res, 400, 'GlobalTableNotFoundException', 'Global table not found');
      return forward(req, body, res, passOn(res));
    case 'global':
      return forward(req, body, res, asGlobalTable(rule, res));
    case 'legacy-global': {
      const name = JSON.parse(body.toString()).GlobalTableName;
      return send(res, 200, { GlobalTableDescription: { GlobalTableName: name, GlobalTableStatus: 'ACTIVE',
        ReplicationGroup: [{ RegionName: 'us-east-1' }, { RegionName: 'eu-west-1' }] } }, 'application/x-amz-json-1.0');
    }
    case 'replicated-conflict':
      return awsError(res, 400, 'ReplicatedWriteConflictException',
        'The request was rejected because one or more items in the request are being modified by a request in another Region.');
    case 'throttle':
      if (rule.reasons) {
        let table = null;
        try { table = JSON.parse(body.toString()).TableName; } catch (e) { /* unreadable: no table */ }
        return throttled(res, table, rule.reasons.split(','));
      }
      return awsError(res, 400, 'ThrottlingException', 'Rate of requests exceeds the allowed throughput.');
    case 'server-error':
      return awsError(res, 500, 'InternalServerError', 'Internal server error');
    case 'reject-credentials':
      // Real AWS messages can echo request parts; echo the secrets to prove redaction.
      return awsError(res, 400, 'UnrecognizedClientException',
        'The security token included in the request is invalid: ' + (req.headers['x-amz-security-token'] || '') +
        ' ' + (req.headers['x-test-echo'] || ''));
    case 'access-denied':
      return awsError(res, 400, 'AccessDeniedException',
        'User: arn:aws:iam::123456789012:user/test is not authorized to perform: dynamodb:UpdateItem');
    case 'cancelled': {
      const reasons = (rule.reasons || 'None').split(',');
      res.writeHead(400, { 'Content-Type': 'application/x-amz-json-1.0' });
      return res.end(JSON.stringify({
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [' + reasons.join(', ') + ']',
        CancellationReasons: reasons.map((Code) => ({ Code })),
      }));
    }
    case 'validation':
      return awsError(res, 400, 'ValidationException', 'One or more parameter values were invalid');
    case 'conflict':
      return awsError(res, 400, 'TransactionConflictException', 'Transaction is ongoing for the item');
    case 'in-progress':
      return awsError(res, 400, 'TransactionInProgressException', 'Transaction is ongoing for the idempotency token');
    case 'nul-answer':
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
      return res.end(Buffer.concat([Buffer.from('{"Item":{"pk":{"S":"nul"},"sk":{"S":"1"},"note":{"S":"before'),
        Buffer.from([0]), Buffer.from('after"}}}')]));
    case 'garbage':
      return send(res, 200, 'this is not json', 'application/x-amz-json-1.0');
    case 'in-use':
      return awsError(res, 400, 'ResourceInUseException', 'Table already exists or is being deleted');
    case 'deleting': {
      const table = JSON.parse(body.toString()).TableName;
      return send(res, 200, { Table: { TableName: table, TableStatus: 'DELETING' } }, 'application/x-amz-json-1.0');
    }
    case 'drop-answer':
      return forward(req, body, res, () => req.socket.destroy());
    case 'apply-then-500':
      return forward(req, body, res, () => awsError(res, 500, 'InternalServerError', 'Internal server error'));
    case 'apply-then-500-echo':
      // Real AWS messages can echo request parts: the session token, to prove redaction.
      return forward(req, body, res, () => awsError(res, 500, 'InternalServerError',
        'Internal server error for token ' + (req.headers['x-amz-security-token'] || '')));
    case 'apply-then-hang':
      return forward(req, body, res, () => {});
    case 'unprocessed':
      return halfProcessed(req, body, res);
    case 'drop-request':
      return req.socket.destroy();
    // How the answer is framed (the direct requests read HTTP themselves):
    // in chunks, one byte at a time; or with the connection closed after it.
    case 'chunked':
      return forward(req, body, res, (status, headers, upBody) => {
        const h = Object.assign({}, headers);
        delete h['content-length'];
        h['transfer-encoding'] = 'chunked';
        res.writeHead(status, h);
        for (const byte of upBody) res.write(Buffer.from([byte]));
        res.end();
      });
    case 'close-after':
      return forward(req, body, res, (status, headers, upBody) => {
        res.writeHead(status, Object.assign({}, headers, { connection: 'close' }));
        res.end(upBody);
      });
    // Raw bytes in place of an answer (rule.match-free: rule.bytes, in the query as text), then the close.
    case 'raw-answer':
      return forward(req, body, res, () => {
        req.socket.end(rule.bytes || '');
      });
    case 'delay':
      return setTimeout(() => forward(req, body, res, passOn(res)), rule.ms);
    case 'answer-late':
      return forward(req, body, res, (...answer) => setTimeout(() => passOn(res)(...answer), rule.ms));
    default:
      return send(res, 400, { message: 'unknown fault ' + rule.kind });
  }
}

const handler = (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname === '/_log') return send(res, 200, log.map((e) => JSON.stringify(e)).join('\n'), 'text/plain');
    if (url.pathname === '/_stats') {
      const counts = injected;
      if (url.searchParams.get('reset')) injected = {};
      return send(res, 200, counts);
    }
    if (url.pathname === '/_connects') return send(res, 200, connects);
    if (url.pathname === '/_items') return send(res, 200, { limited: itemLimit.limited, writes: itemLimit.writes });
    if (url.pathname === '/_sts') {
      return send(res, 200, { calls: sts.calls, requests: sts.requests || 0, assumed: sts.assumed, issued: Object.keys(sts.issued).length, expiredUses: sts.expiredUses });
    }
    if (url.pathname === '/_control') {
      const p = url.searchParams;
      const kind = p.get('fault');
      if (p.get('seed')) prngState = Number(p.get('seed')) | 0;
      if (p.get('log')) logging = p.get('log') !== '0';
      if (p.get('item_limit') !== null) {
        itemLimit.perSecond = Number(p.get('item_limit')) || 0;
        itemLimit.buckets = new Map();
        itemLimit.limited = 0;
        itemLimit.writes = 0;
      }
      if (!p.get('add')) {
        rules = [];
        log.length = 0;
      }
      if (p.get('sts_reset')) {
        sts = { tokenFile: null, durationS: 3600, iso: false, requireIssued: false, calls: 0, issued: {}, secrets: {},
          sources: {}, externalId: null, assumed: 0, expires: {}, expiredUses: 0 };
      }
      if (p.get('sts_source')) { const [k, v] = p.get('sts_source').split(':'); sts.sources[k] = v; }
      if (p.get('sts_external_id')) sts.externalId = p.get('sts_external_id');
      if (p.get('sts_token_file')) sts.tokenFile = p.get('sts_token_file');
      if (p.get('sts_duration_s')) sts.durationS = Number(p.get('sts_duration_s'));
      if (p.get('sts_iso')) sts.iso = p.get('sts_iso') === '1';
      if (p.get('require_sts')) sts.requireIssued = p.get('require_sts') === '1';
      if (kind) rules.push({ kind, remaining: Number(p.get('count') || -1), target: p.get('target'), match: p.get('match'),
        ms: Number(p.get('ms') || 3000), reasons: p.get('reasons'), ratio: Number(p.get('ratio') || 1),
        mode: p.get('mode'), regions: p.get('regions'), bytes: p.get('bytes') });
      // Idle kept-alive connections are closed after this (Node's default: 5 s).
      if (p.get('keepalive_ms')) server.keepAliveTimeout = Number(p.get('keepalive_ms'));
      return send(res, 200, { ok: true });
    }
    // The start of the body tells writes of one operation apart (no secret is in a DynamoDB body).
    if (logging) log.push({ at: Date.now(), method: req.method, path: url.pathname,
      target: url.pathname === '/sts' ? 'STS.' + new URLSearchParams(body.toString()).get('Action') : req.headers['x-amz-target'] || null,
      // (an STS body holds the web identity token: not logged)
      body: url.pathname === '/sts' ? '' : body.toString('utf8', 0, 4000), headers: req.headers });

    if (req.method === 'POST' && url.pathname === '/sts') return stsRequest(req, body, res);
    if (req.method === 'POST' && url.pathname === '/') {
      if (sts.requireIssued && !stsCredentialsOk(req)) {
        return awsError(res, 400, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
      }
      if (sts.requireIssued) {
        const key = /Credential=([A-Z0-9]+)\//.exec(req.headers.authorization || '')[1];
        if (Date.now() >= sts.expires[key]) {
          sts.expiredUses++;
          return awsError(res, 400, 'ExpiredTokenException', 'The security token included in the request is expired');
        }
      }
      return dynamodb(req, body, res);
    }

    if (req.method === 'GET' && url.pathname === '/creds') {
      if (req.headers.authorization !== CONTAINER_TOKEN) return send(res, 401, { message: 'bad token' });
      return send(res, 200, credentials('CONTAINER', Number(url.searchParams.get('offset_minutes') || 0)));
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
};
// FAKE_HTTP2=1 (with TLS): a server that offers HTTP/2 in ALPN, and HTTP/1.1 to clients that want only it.
const server = tlsCert
  ? (process.env.FAKE_HTTP2 === '1'
    ? require('http2').createSecureServer({ cert: fs.readFileSync(tlsCert), key: fs.readFileSync(tlsKey), allowHTTP1: true }, handler)
    : https.createServer({ cert: fs.readFileSync(tlsCert), key: fs.readFileSync(tlsKey) }, handler))
  : http.createServer(handler);

// A proxy that connects nowhere: records the host, refuses.
const connects = [];
server.on('connect', (req, socket) => {
  connects.push(req.url);
  socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
});

server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(server.address().port) + '\n');
  fs.renameSync(portFile + '.tmp', portFile);
});
setTimeout(() => process.exit(0), LIFETIME_MS).unref();
