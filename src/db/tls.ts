/**
 * TLS settings in DATABASE_URL, as node-postgres 8 reads them. It does not follow libpq: `require`,
 * `prefer` and `verify-ca` all mean `verify-full` there (the server's certificate must chain to a
 * trusted CA *and* name the host), and it prints a multi-line, non-JSON deprecation warning on
 * stderr when it meets them. The URL is rewritten to say what will happen (`verify-full`), and the
 * caller logs one JSON line about it instead. `uselibpqcompat=true` (libpq's meanings) and
 * `sslmode=no-verify` (encrypt, verify nothing) are left as they are.
 *
 * Trusting a private CA (a managed PostgreSQL's, a self-signed one): `sslrootcert=/path/ca.pem` in
 * the URL, or NODE_EXTRA_CA_CERTS=/path/ca.pem in the environment (deploy/README.md, "TLS").
 */

const VERIFIED_ALIASES = new Set(['require', 'prefer', 'verify-ca']);

export function normaliseSslMode(url: string): { url: string; note?: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url };
  }
  const mode = parsed.searchParams.get('sslmode');
  if (mode === null || !VERIFIED_ALIASES.has(mode) || parsed.searchParams.get('uselibpqcompat') === 'true') return { url };
  parsed.searchParams.set('sslmode', 'verify-full');
  return {
    url: parsed.toString(),
    note: `DATABASE_URL has sslmode=${mode}, which node-postgres treats as verify-full: the server certificate must chain to a trusted CA and name the host (give a private CA with sslrootcert=… or NODE_EXTRA_CA_CERTS); write sslmode=verify-full to say so, or uselibpqcompat=true&sslmode=${mode} for libpq's meaning`,
  };
}

const UNTRUSTED_CERTIFICATE = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
]);

/** What to do about a TLS failure while connecting, or undefined when it is not one. */
export function tlsHint(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code)) {
    return "the server's certificate does not chain to a CA this process trusts: give its CA with sslrootcert=/path/ca.pem in DATABASE_URL, or NODE_EXTRA_CA_CERTS=/path/ca.pem";
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return "the server's certificate does not name the host in DATABASE_URL: connect by a name the certificate lists";
  if (code === 'CERT_HAS_EXPIRED') return "the server's certificate has expired";
  if (/does not support SSL connections/i.test((err as Error | null)?.message ?? '')) return 'the server does not offer TLS: enable ssl on it, or leave sslmode out of DATABASE_URL';
  return undefined;
}
