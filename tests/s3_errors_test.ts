/**
 * What a store's certificate not trusted names at start
 * (services/storage/s3_errors.ts), from rustls's reason alone: the URL in
 * the message before it may hold any word (a bucket named "expired-…").
 * The reasons are the ones Deno 2.9's fetch gave against radosgw (see
 * tests/s3_tls_test.ts). And which refusals are of the service's
 * credentials or its bucket missing (a 503 while it runs,
 * tests/s3_credentials_refused_test.ts, tests/s3_bucket_missing_test.ts)
 * and still stop the start by their code.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  refusal,
  S3Error,
  StorageCertificateError,
} from "../services/storage/s3_errors.ts";
import { startRefusal } from "../services/storage/s3_start_refusal.ts";
import {
  StorageMissingError,
  StorageRefusedError,
  StorageUnavailableError,
} from "../services/storage/storage.ts";
import { StorageProxyError } from "../services/storage/proxy_tunnel.ts";

const FETCH = "fetch failed: error sending request for url " +
  "(https://127.0.0.1:9/expired-files/?list-type=2): client error (Connect)";

function checkFor(reason: string): string | undefined {
  const error = new StorageCertificateError(
    `The object store's TLS certificate is not trusted: ${FETCH}: ${reason}`,
  );
  return startRefusal(error)?.check;
}

Deno.test("a certificate not trusted names DENO_CERT, the host or the clock by rustls's reason, not by the URL", () => {
  assert.match(
    checkFor("invalid peer certificate: UnknownIssuer")!,
    /^DENO_CERT/,
  );
  assert.match(
    checkFor(
      "invalid peer certificate: certificate expired: verification time " +
        "1796731483 (UNIX), but certificate is not valid after 1796644047",
    )!,
    /this host's clock/,
  );
  assert.match(
    checkFor(
      "invalid peer certificate: certificate not valid for name " +
        '"localhost"; certificate is only valid for IpAddress(127.0.0.1)',
    )!,
    /S3_ENDPOINT's host/,
  );
});

Deno.test("the store's refusals of the credentials are StorageRefusedError (503 while running), still stopping the start by their code", () => {
  for (const code of ["InvalidAccessKeyId", "UserSuspended", "AccessDenied"]) {
    const error = refusal("GET", "/b/", 403, code);
    assert.ok(error instanceof StorageRefusedError, code);
    assert.ok(error instanceof StorageUnavailableError, code);
    assert.equal(error.code, code);
  }
  // A HEAD's 403 has no body to name its code.
  assert.ok(
    refusal("HEAD", "/b/files/x", 403, undefined) instanceof
      StorageRefusedError,
  );
  // A bucket gone is a 503 while running (s3_bucket_missing_test.ts),
  // still stopping the start, naming S3_BUCKET.
  const gone = refusal("GET", "/b/", 404, "NoSuchBucket");
  assert.ok(gone instanceof StorageMissingError);
  assert.ok(gone instanceof StorageUnavailableError);
  // Not S3_BUCKET alone: an S3_ENDPOINT path is taken for the bucket.
  assert.match(gone.message, /where S3_ENDPOINT and S3_BUCKET point/);
  assert.equal(startRefusal(gone)?.setting, "S3_BUCKET");
  assert.ok(refusal("GET", "/b/", 400, "InvalidBucketName") instanceof S3Error);
  // A suspended user's key stops the start too.
  assert.equal(
    startRefusal(refusal("GET", "/b/", 403, "UserSuspended"))?.setting,
    "AWS_ACCESS_KEY_ID",
  );
  assert.equal(
    startRefusal(refusal("GET", "/b/", 403, "InvalidAccessKeyId"))?.setting,
    "AWS_ACCESS_KEY_ID",
  );
  assert.equal(
    startRefusal(refusal("GET", "/b/", 403, "SignatureDoesNotMatch"))?.setting,
    "AWS_SECRET_ACCESS_KEY",
  );
});

Deno.test("AWS's AccountProblem and AllAccessDisabled stop the start, naming AWS_ACCESS_KEY_ID", () => {
  for (const code of ["AccountProblem", "AllAccessDisabled"]) {
    const error = refusal("GET", "/b/", 403, code);
    // Refused credentials while running: a 503 to come back later.
    assert.ok(error instanceof StorageRefusedError, code);
    assert.equal(startRefusal(error)?.setting, "AWS_ACCESS_KEY_ID", code);
  }
});

Deno.test("an answer that may be a proxy's (no S3 request id) and names no code is StorageProxyError, naming the proxy", () => {
  const proxy = {
    scheme: "http" as const,
    hostname: "proxy.internal",
    port: 3128,
    shown: "http://proxy.internal:3128",
  };
  for (const status of [403, 400, 407]) {
    const error = refusal("PUT", "/b/files/x", status, undefined, proxy);
    assert.ok(error instanceof StorageProxyError, String(status));
    assert.equal(error.status, status);
    assert.match(error.message, /proxy\.internal:3128/);
  }
  // The store's own answer, code and all, through the same proxy.
  assert.ok(
    refusal("GET", "/b/", 403, "AccessDenied", proxy) instanceof
      StorageRefusedError,
  );
});
